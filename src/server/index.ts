/**
 * Healwatch's HTTP API: health endpoints, findings, alerts, history, silences, receivers, watch health and
 * Prometheus metrics.
 */
export {
  assertSafeListen,
  isLoopback,
  MAX_BODY_BYTES,
  parseListen,
  startServer,
  type HttpServer,
  type NotificationsApi,
  type ServerOptions,
  type ServerStore,
  type ServiceApi,
} from './http.js';
export { renderMetrics, type MetricsInput } from './metrics.js';
