import {
  componentOf,
  DEFAULT_ADDON_NAMESPACES,
  KNOWN_COMPONENTS,
  type ClusterView,
  type ComponentDefinition,
} from '../cluster/index.js';

/** A workload, by namespace and name. */
export interface WorkloadName {
  readonly namespace: string;
  readonly name: string;
}

/** What counts as a cluster component, and which DaemonSet ships the logs. */
export interface Classification {
  /** Namespaces whose workloads are cluster components (kube-system and the add-on namespaces). */
  readonly addonNamespaces: readonly string[];
  /** The log-agent DaemonSet, configured or detected, if the cluster has one. */
  readonly logAgent: WorkloadName | undefined;
  /** Whether a workload is a cluster component (by namespace, or by being a known add-on anywhere). */
  isClusterComponent(namespace: string | undefined, name: string): boolean;
  /** The known component a workload belongs to, if any. */
  componentOf(name: string): ComponentDefinition | undefined;
}

/** The classification settings of the config file. */
export interface ClassificationConfig {
  /** Namespaces added to the built-in add-on namespaces. */
  addonNamespaces: readonly string[];
  /** Extra workload names (anywhere) that count as cluster components. */
  addonWorkloads: readonly string[];
  /** `namespace/name` of the log-agent DaemonSet; detected when absent. */
  logAgent: string | undefined;
}

const LOG_AGENT = KNOWN_COMPONENTS.find((c) => c.role === 'log-agent')!;

/**
 * Resolves the classification against the cluster: the built-in add-on namespaces plus the configured
 * ones, and the log agent (configured, or the DaemonSet named like fluent-bit, fluentd, vector,
 * promtail, datadog-agent or an OpenTelemetry collector).
 */
export function classify(view: ClusterView, config: ClassificationConfig): Classification {
  const addonNamespaces = [...new Set([...DEFAULT_ADDON_NAMESPACES, ...config.addonNamespaces])];
  let logAgent: WorkloadName | undefined;
  if (config.logAgent) {
    const [namespace = '', name = ''] = config.logAgent.split('/');
    logAgent = { namespace, name };
  } else {
    const found = view
      .list('DaemonSet')
      .filter((ds) => LOG_AGENT.workloads.some((w) => ds.name === w || ds.name.startsWith(`${w}-`)))
      .sort((a, b) => (a.namespace ?? '').localeCompare(b.namespace ?? ''))[0];
    if (found) logAgent = { namespace: found.namespace ?? '', name: found.name };
  }
  return {
    addonNamespaces,
    logAgent,
    isClusterComponent: (namespace, name) =>
      (namespace !== undefined && addonNamespaces.includes(namespace)) ||
      config.addonWorkloads.includes(name) ||
      componentOf(name) !== undefined,
    componentOf,
  };
}
