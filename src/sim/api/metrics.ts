/**
 * The API server's own `/metrics` (Prometheus text format), reduced to what the monitor reads — the
 * `apiserver_requested_deprecated_apis` gauge — and a few realistic unrelated families around it, so
 * a parser must skip what it does not know.
 */

/** A deprecated API that clients requested, as the API server's deprecation gauge reports it. */
export interface DeprecatedApiRequest {
  group: string;
  version: string;
  resource: string;
  subresource: string;
  /** The release that removes it (`1.25`), empty when none is planned. */
  removedRelease: string;
}

/** The `/metrics` text for the given gitVersion and requested deprecated APIs. */
export function apiserverMetricsText(
  gitVersion: string,
  deprecated: readonly DeprecatedApiRequest[],
): string {
  const m = /^v(\d+)\.(\d+)/.exec(gitVersion);
  const lines = [
    '# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.',
    '# TYPE apiserver_request_total counter',
    'apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="pods",scope="cluster",subresource="",verb="LIST",version="v1"} 1234',
    'apiserver_request_total{code="200",component="apiserver",dry_run="",group="apps",resource="deployments",scope="resource",subresource="",verb="WATCH",version="v1"} 87',
    ...deprecated.map(
      (d) =>
        `apiserver_request_total{code="200",component="apiserver",dry_run="",group="${d.group}",resource="${d.resource}",scope="namespace",subresource="${d.subresource}",verb="LIST",version="${d.version}"} 3`,
    ),
    '# HELP apiserver_requested_deprecated_apis [STABLE] Gauge of deprecated APIs that have been requested, broken out by API group, version, resource, subresource, and removed_release.',
    '# TYPE apiserver_requested_deprecated_apis gauge',
    ...deprecated.map(
      (d) =>
        `apiserver_requested_deprecated_apis{group="${d.group}",removed_release="${d.removedRelease}",resource="${d.resource}",subresource="${d.subresource}",version="${d.version}"} 1`,
    ),
    "# HELP kubernetes_build_info [ALPHA] A metric with a constant '1' value labeled by major, minor, git version, git commit, git tree state, build date, Go version, and compiler from which Kubernetes was built, and platform on which it is running.",
    '# TYPE kubernetes_build_info gauge',
    `kubernetes_build_info{build_date="2025-02-12T21:19:47Z",compiler="gc",git_commit="67a30c0adcf52bd3f56ff0893ce19966be12991f",git_tree_state="clean",git_version="${gitVersion}",go_version="go1.23.6",major="${m?.[1] ?? '1'}",minor="${m?.[2] ?? '0'}",platform="linux/amd64"} 1`,
    '# HELP process_resident_memory_bytes Resident memory size in bytes.',
    '# TYPE process_resident_memory_bytes gauge',
    'process_resident_memory_bytes 4.62553088e+08',
  ];
  return `${lines.join('\n')}\n`;
}
