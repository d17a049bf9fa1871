import { z } from 'zod';
import {
  CONTROL_PLANE,
  detectPlatform,
  type HealthEndpointResult,
  type PodRecord,
} from '../../../cluster/index.js';
import type { Evidence, Finding } from '../../../domain/index.js';
import { ago, containerEvidence } from '../../helpers.js';
import type { Rule } from '../../rule.js';
import { isPodDown, notReadySince } from '../cluster-helpers.js';

const options = z
  .object({
    /**
     * Seconds past a leader Lease's `leaseDurationSeconds` before it counts as not renewed. A healthy
     * leader renews every 2 s; a handover to a standby takes up to the lease duration plus a retry
     * period, so the margin keeps an ordinary failover quiet.
     */
    leaseMarginSeconds: z.number().int().min(0).default(15),
    /** A `/readyz` or `/livez` answer older than this (seconds) is not judged (the probe itself is failing). */
    healthResultMaxAgeSeconds: z.number().int().min(1).default(300),
  })
  .strict();

/** The control-plane components this rule judges, in report order. */
const COMPONENTS = [
  'kube-apiserver',
  'etcd',
  'kube-scheduler',
  'kube-controller-manager',
  'cloud-controller-manager',
] as const;
type Component = (typeof COMPONENTS)[number];

/** Components that elect a leader through a kube-system Lease named after them. */
const LEADER_ELECTED = new Set<Component>([
  'kube-scheduler',
  'kube-controller-manager',
  'cloud-controller-manager',
]);

/** The kube-system pods of a component (every replica: an HA control plane has one per node). */
function componentPods(pods: readonly PodRecord[], name: Component): PodRecord[] {
  return pods.filter(
    (p) =>
      p.labels?.component === name ||
      p.labels?.['k8s-app'] === name ||
      ((p.isStatic || p.labels?.tier === 'control-plane') && p.name.startsWith(`${name}-`)),
  );
}

function whenDown(name: Component): string {
  return CONTROL_PLANE.find((c) => c.name === name)?.whenDown ?? 'the cluster stops converging';
}

function failingChecks(result: HealthEndpointResult | undefined): HealthEndpointResult['checks'] {
  return result ? result.checks.filter((c) => !c.isOk) : [];
}

/**
 * The control plane unhealthy, one finding per component: the API server's `/readyz` or `/livez`
 * failing, the scheduler's or controller-manager's leader Lease not renewed, their pods down, etcd
 * losing quorum. Only where the platform lets the monitor see the component: a provider-managed
 * control plane (EKS, GKE, AKS) is never reported, and an absent one is not missing.
 */
export const controlPlane: Rule<z.infer<typeof options>> = {
  id: 'control-plane',
  summary:
    'Control plane unhealthy: API server checks failing, scheduler or controller-manager down, etcd down',
  loop: 'the control plane runs every other loop: the scheduler places pods, the controller-manager recreates replicas and judges nodes, the API server and etcd hold the state',
  rationale:
    'Nothing in the cluster repairs the control plane itself, and while it is down every other self-healing loop stops: new pods stay Pending, lost replicas are not recreated. Users are affected at the next change or failure, so it pages. Components the provider runs are not judged: nobody in the team can act on them.',
  defaultLevel: 'alert',
  defaultForMs: 60_000,
  inputs: ['Pod', 'Lease', 'Node'],
  options,
  evaluate(ctx) {
    const { view, now, options: o } = ctx;
    const platform = detectPlatform(view, view.probes.version);
    const systemPods = view.list('Pod', 'kube-system');
    const findings: Finding[] = [];
    for (const name of COMPONENTS) {
      const visibility = platform.controlPlane[name];
      // Provider-managed: not observable here, never a finding. Absent: nothing to judge.
      if (visibility.visibility !== 'visible') continue;
      const reasons: string[] = [];
      const evidence: Evidence[] = [];
      const starts: number[] = [];

      // The leader Lease: a leader renews it every few seconds; a stale one means no instance leads.
      const lease = LEADER_ELECTED.has(name) ? view.get('Lease', 'kube-system', name) : undefined;
      let leaseStale = false;
      if (lease?.renewedAt !== undefined) {
        const durationMs = (lease.durationSeconds ?? 15) * 1000;
        const expiredAt = lease.renewedAt + durationMs;
        if (now > expiredAt + o.leaseMarginSeconds * 1000) {
          leaseStale = true;
          starts.push(expiredAt);
          reasons.push(`its leader Lease was last renewed ${ago(now - lease.renewedAt)} ago`);
          evidence.push({
            type: 'state',
            text: `Lease kube-system/${name}: holder ${lease.holder ?? '(none)'}, leaseDurationSeconds ${lease.durationSeconds ?? '?'}, renewed ${ago(now - lease.renewedAt)} ago, ${lease.transitions} transitions`,
            at: lease.renewedAt,
          });
        }
      }

      // Pods: the component is down when every replica is down (etcd: when quorum is lost). One
      // replica of an HA control plane down leaves the loop working: not a page.
      const pods = componentPods(systemPods, name);
      const down = pods.filter(isPodDown);
      const ready = pods.length - down.length;
      const quorum = Math.floor(pods.length / 2) + 1;
      // A Lease renewed on time means some instance leads and works, and a fresh passing `/readyz`
      // (its `etcd` check for etcd) means the API server and etcd serve: their pods looking down (mirror
      // pods on a NotReady node whose status nobody updates, one HA replica crash-looping) do not make
      // the component down.
      const readyz = view.probes.readyz;
      const freshReadyz =
        readyz && now - readyz.serverAt <= o.healthResultMaxAgeSeconds * 1000 ? readyz : undefined;
      const isServing =
        name === 'kube-apiserver'
          ? freshReadyz?.isOk === true
          : name === 'etcd'
            ? freshReadyz?.checks.some((c) => c.name === 'etcd' && c.isOk) === true
            : lease?.renewedAt !== undefined && !leaseStale;
      const podsDown = pods.length > 0 && !isServing && (name === 'etcd' ? ready < quorum : ready === 0);
      if (podsDown) {
        reasons.push(
          name === 'etcd' && pods.length > 1
            ? `${down.length} of ${pods.length} etcd members are not ready (quorum needs ${quorum})`
            : `${down.length === 1 ? `its pod ${down[0]!.name} is` : `all ${down.length} of its pods are`} not ready`,
        );
        for (const pod of down.slice(0, 3)) {
          const since = notReadySince(pod);
          if (since !== undefined) starts.push(since);
          const cond = pod.conditions.Ready;
          evidence.push({
            type: 'condition',
            text: `pod kube-system/${pod.name}${pod.isStatic ? ' (static)' : ''}: Ready=${cond?.status ?? 'Unknown'}${cond?.reason ? ` (${cond.reason})` : ''}${since !== undefined ? ` for ${ago(now - since)}` : ''}`,
            ...(since !== undefined ? { at: since } : {}),
          });
          for (const c of pod.containers)
            if (c.state !== 'running' || c.restarts > 0) evidence.push(...containerEvidence(pod, c, now));
        }
      }

      // The API server's own health checks (as the monitor reaches it).
      let failing: HealthEndpointResult['checks'] = [];
      if (name === 'kube-apiserver') {
        for (const result of [view.probes.livez, view.probes.readyz]) {
          if (!result || result.isOk) continue;
          // A stale answer is not judged: the probe is failing, which is monitor-blind's to report.
          if (now - result.serverAt > o.healthResultMaxAgeSeconds * 1000) continue;
          const checks = failingChecks(result);
          failing = [...failing, ...checks];
          // The API server's own verdict goes first: it says what is wrong, the pod only that it is.
          reasons.unshift(
            `/${result.endpoint} fails${checks.length > 0 ? `: ${checks.map((c) => c.name).join(', ')}` : ` (HTTP ${result.status})`}`,
          );
          for (const c of checks)
            evidence.push({
              type: 'state',
              text: `/${result.endpoint} [-]${c.name} ${c.detail}`.trim(),
              at: result.serverAt,
            });
        }
      }

      if (reasons.length === 0) continue;
      const breaks = whenDown(name);
      const pod = down[0] ?? pods[0];
      const failsEtcd = failing.some((c) => c.name.startsWith('etcd'));
      const nextSteps: string[] = [];
      if (name === 'kube-apiserver') {
        nextSteps.push(`kubectl get --raw='/readyz?verbose'`, `kubectl get --raw='/livez?verbose'`);
        if (failsEtcd)
          nextSteps.push(
            'An etcd check fails: the API server cannot reach etcd or etcd is slow. Check the etcd pods and their disk latency: kubectl logs -n kube-system -l component=etcd --tail=50',
          );
      }
      if (pod) {
        nextSteps.push(
          `kubectl describe pod -n kube-system ${pod.name}`,
          `kubectl logs -n kube-system ${pod.name} --previous`,
        );
      }
      if (lease) nextSteps.push(`kubectl get lease -n kube-system ${name} -o yaml`);
      if (pod?.isStatic)
        nextSteps.push(
          `On the control-plane node ${pod.nodeName ?? ''}: crictl ps -a --name ${name}; check /etc/kubernetes/manifests/${name}.yaml and the certificates and kubeconfig it uses (an expired client certificate is a common cause).`.replace(
            'node : ',
            'node: ',
          ),
        );
      else if (name !== 'kube-apiserver')
        nextSteps.push(
          `Usually: an expired certificate or kubeconfig, a bad flag after an upgrade, or the node running it is down.`,
        );

      findings.push({
        ruleId: 'control-plane',
        level: ctx.level,
        object: { kind: 'Component', name },
        // The API server answers the monitor (else monitor-blind reports it): unhealthy, not down.
        title: `${name} is ${name === 'kube-apiserver' ? 'unhealthy' : 'down'}: ${reasons[0]!}`,
        loop: controlPlane.loop,
        message: `${name}: ${reasons.join('; ')}. While it is down, ${breaks}.`,
        evidence,
        nextSteps,
        facts: {
          component: name,
          whenDown: breaks,
          visibility: visibility.how,
          pods: pods.length,
          podsReady: ready,
          leaseStale,
          ...(failing.length > 0 ? { failingChecks: failing.map((c) => c.name).join(',') } : {}),
          ...(lease?.holder ? { leaseHolder: lease.holder } : {}),
          ...(pod?.nodeName ? { controlPlaneNode: pod.nodeName } : {}),
        },
        ...(starts.length > 0 ? { since: Math.min(...starts) } : {}),
      });
    }
    return findings;
  },
};
