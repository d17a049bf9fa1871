/**
 * Access to a cluster: the connection (kubeconfig, in-cluster, auth), the list/watch loops that keep
 * the ClusterView current, the slim records, and the probes.
 */
export { Connection, type ConnectionOptions } from './connection.js';
export { ClusterWatcher, type SyncProgress, type WatcherOptions } from './watcher.js';
export { ClusterView, matchesSelector, VIEW_KINDS, type SelectorQuery } from './view.js';
export {
  DEFAULT_REFLECTOR_OPTIONS,
  Reflector,
  type ReflectorOptions,
  type WatchHealth,
} from './reflector.js';
export { recordKey, type ViewChange } from './object-store.js';
export { COLLECTORS, collectionPath, type AnyCollector, type Collector } from './collectors/index.js';
export type * from './records.js';
export { preflight, type Preflight } from './preflight.js';
export {
  inventoryControlPlane,
  inventoryCore,
  type InventoryComponent,
  type InventoryCore,
  type InventoryNode,
  type InventoryWorkload,
} from './inventory.js';
export {
  componentOf,
  CONTROL_PLANE,
  DEFAULT_ADDON_NAMESPACES,
  KNOWN_COMPONENTS,
  type ComponentDefinition,
  type ComponentRole,
} from './components.js';
export { detectPlatform, type PlatformInfo, type PlatformName, type Visibility } from './platform.js';
export { DEFAULT_PROBER_OPTIONS, Prober, type ProberOptions } from './probes/prober.js';
export type {
  ApiserverMetricsResult,
  CertificateInfo,
  DeprecatedApiUse,
  HealthEndpointResult,
  MetricsResult,
  NodeSummary,
  ProbeHealth,
  ProbeResults,
  Usage,
  VersionResult,
  VolumeUsage,
} from './probes/results.js';
export {
  CONTROL_PLANE_COMPONENT_NAMES,
  type ComponentVisibility,
  type ControlPlaneComponentName,
  type KubeProxyInfo,
} from './platform.js';
export { PROBE_NAMES, type ProbeName } from './probes/prober.js';
export { ProbeError } from './probes/probe-error.js';
export type {
  FsUsage,
  HealthCheckResult,
  NodeProbeError,
  ProbeErrorKind,
  Stamped,
} from './probes/results.js';
export { fetchLogTail } from './logs.js';
