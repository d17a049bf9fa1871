/** Healwatch's HTTP API: health endpoints, findings, alerts, watch health and Prometheus metrics. */
export {
  assertSafeListen,
  isLoopback,
  parseListen,
  startServer,
  type HttpServer,
  type ServerOptions,
  type ServiceApi,
} from './http.js';
export { renderMetrics, type MetricsInput } from './metrics.js';
