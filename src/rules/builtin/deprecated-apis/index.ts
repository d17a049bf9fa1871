import { z } from 'zod';
import type { DeprecatedApiUse } from '../../../cluster/index.js';
import type { Finding, ObjectRef } from '../../../domain/index.js';
import type { Rule } from '../../rule.js';

const options = z.object({}).strict();

const CLUSTER: ObjectRef = { kind: 'Cluster', name: 'cluster' };

/** `policy/v1beta1` or `v1` for the core group. */
function groupVersion(api: DeprecatedApiUse): string {
  return api.group ? `${api.group}/${api.version}` : api.version;
}

/** What the removal release means for this cluster, given its minor version. */
function removalText(api: DeprecatedApiUse, minor: number | undefined): { text: string; upgrades?: number } {
  const removed = api.removedRelease ? /^1\.(\d+)$/.exec(api.removedRelease) : null;
  if (!api.removedRelease || !removed) return { text: 'no release that removes it is announced yet' };
  const at = Number(removed[1]);
  if (minor === undefined) return { text: `Kubernetes ${api.removedRelease} removes it` };
  if (at <= minor)
    return {
      text: `Kubernetes ${api.removedRelease} removed it, yet this ${`1.${minor}`} API server still serves it (re-enabled or emulating an older version): the clients break as soon as that ends`,
      upgrades: 0,
    };
  if (at === minor + 1)
    return {
      text: `the next minor upgrade, to ${api.removedRelease}, removes it: the clients that use it break on that upgrade`,
      upgrades: 1,
    };
  return {
    text: `Kubernetes ${api.removedRelease} removes it, ${at - minor} minor upgrades from this 1.${minor} cluster`,
    upgrades: at - minor,
  };
}

/**
 * Deprecated APIs still requested, from the API server's `apiserver_requested_deprecated_apis` gauge,
 * one finding per API: the clients that use them break on the upgrade that removes them.
 */
export const deprecatedApis: Rule<z.infer<typeof options>> = {
  id: 'deprecated-apis',
  summary:
    'Deprecated APIs still requested (apiserver_requested_deprecated_apis), with the release that removes each',
  loop: 'upgrades keep the cluster patched; a client still calling an API the next release removes breaks on that upgrade, or blocks it',
  rationale:
    'Nothing is broken today and finding the client takes an investigation in business hours; but left alone the next upgrade breaks whatever still calls the API (an operator, a CI job, a Helm chart), which no self-healing repairs. Silent when /metrics is not readable (no get on the non-resource URL /metrics).',
  defaultLevel: 'notice',
  defaultForMs: 0,
  inputs: [],
  options,
  evaluate(ctx) {
    const metrics = ctx.view.probes.apiserverMetrics;
    // Not readable (403, not served) or not read yet: say nothing rather than guess.
    if (!metrics) return [];
    const version = ctx.view.probes.version;
    const minor = version?.major === 1 ? version.minor : undefined;
    const findings: Finding[] = [];
    for (const api of metrics.deprecatedApis) {
      const gv = groupVersion(api);
      const what = `${gv} ${api.resource}${api.subresource ? `/${api.subresource}` : ''}`;
      const removal = removalText(api, minor);
      const filter = `group="${api.group}",.*resource="${api.resource}".*version="${api.version}"`;
      findings.push({
        ruleId: 'deprecated-apis',
        level: ctx.level,
        object: CLUSTER,
        key: `${gv}/${api.resource}${api.subresource ? `/${api.subresource}` : ''}`,
        title: `Deprecated API ${what} is still in use${api.removedRelease ? ` (removed in ${api.removedRelease})` : ''}`,
        loop: deprecatedApis.loop,
        message: `Some client requested ${what} since the API server started (apiserver_requested_deprecated_apis). It is deprecated; ${removal.text}.${
          version ? ` The cluster runs ${version.gitVersion}.` : ''
        } Move the client to the API's successor before upgrading.`,
        evidence: [
          {
            type: 'metric',
            text: `apiserver_requested_deprecated_apis{group="${api.group}",version="${api.version}",resource="${api.resource}",subresource="${api.subresource}",removed_release="${api.removedRelease ?? ''}"} 1`,
            at: metrics.serverAt,
          },
        ],
        nextSteps: [
          'kubectl get --raw /metrics | grep apiserver_requested_deprecated_apis',
          `kubectl get --raw /metrics | grep apiserver_request_total | grep -E '${filter}'   # which verbs, how often`,
          `Find the client: in the API server audit log, requests to /apis/${gv}/.../${api.resource} carry the user and userAgent (on EKS/GKE/AKS, the control-plane audit logs in CloudWatch / Cloud Logging / Azure Monitor).`,
          'Scan manifests and Helm releases for the old apiVersion: pluto detect-helm -owide, or kubent.',
          'The gauge counts since the API server started: after fixing the client it clears on the next API server restart (or upgrade).',
        ],
        facts: {
          group: api.group,
          version: api.version,
          resource: api.resource,
          ...(api.subresource ? { subresource: api.subresource } : {}),
          ...(api.removedRelease ? { removedRelease: api.removedRelease } : {}),
          ...(removal.upgrades !== undefined ? { upgradesUntilRemoval: removal.upgrades } : {}),
          ...(version ? { clusterVersion: `${version.major}.${version.minor}` } : {}),
        },
        since: ctx.now,
      });
    }
    return findings;
  },
};
