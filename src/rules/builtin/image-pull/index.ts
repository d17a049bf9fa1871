import { z } from 'zod';
import type { ContainerRecord, EventRecord, PodRecord } from '../../../cluster/index.js';
import type { Evidence, Finding } from '../../../domain/index.js';
import { containerEvidence, eventEvidence, groupByWorkload, ns } from '../../helpers.js';
import type { Rule } from '../../rule.js';
import { allContainers, singleNode } from '../pods-helpers.js';

const options = z
  .object({
    /** The waiting reasons that mean the image cannot be pulled. */
    reasons: z
      .array(z.string().min(1))
      .min(1)
      .default(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']),
  })
  .strict();

/** What the pull errors say the cause is. */
type Cause = 'invalid-name' | 'not-found' | 'unauthorized' | 'rate-limited' | 'unreachable' | 'unknown';

/** Reads the cause from the container's reason and the pull error messages (containerd, CRI-O, dockershim). */
function causeOf(reason: string | undefined, texts: readonly string[]): Cause {
  if (reason === 'InvalidImageName') return 'invalid-name';
  const text = texts.join('\n');
  if (/not found|manifest unknown|name unknown|does not exist/i.test(text) && !/authoriz/i.test(text))
    return 'not-found';
  if (
    /unauthorized|authentication required|access denied|denied|forbidden|\b40[13]\b|credentials/i.test(text)
  )
    return 'unauthorized';
  if (/toomanyrequests|too many requests|rate limit|\b429\b/i.test(text)) return 'rate-limited';
  if (
    /timeout|timed out|no such host|connection refused|connection reset|dial tcp|network is unreachable|tls handshake|x509|i\/o/i.test(
      text,
    )
  )
    return 'unreachable';
  if (/not found|does not exist/i.test(text)) return 'not-found';
  return 'unknown';
}

const CAUSE_TEXT: Record<Cause, string> = {
  'invalid-name': 'invalid image name',
  'not-found': 'image or tag not found',
  unauthorized: 'registry refused the credentials',
  'rate-limited': 'registry rate limit',
  unreachable: 'registry unreachable',
  unknown: 'pull failing',
};

function isPullEvent(e: EventRecord): boolean {
  return (
    (e.reason === 'Failed' && /pull|image/i.test(e.message)) ||
    (e.reason === 'BackOff' && /pulling image/i.test(e.message)) ||
    e.reason === 'InspectFailed' ||
    e.reason === 'ErrImageNeverPull'
  );
}

/**
 * Containers whose image cannot be pulled, one finding per workload: the kubelet retries the pull with
 * a back-off, which does not fix a wrong tag, missing credentials or an unreachable registry.
 */
export const imagePull: Rule<z.infer<typeof options>> = {
  id: 'image-pull',
  summary:
    'Containers that cannot pull their image (ErrImagePull, ImagePullBackOff), one finding per workload',
  loop: 'the kubelet retries a failed image pull with a growing back-off; retrying cannot fix a wrong tag, missing credentials or an unreachable registry',
  rationale:
    'The pods never start, but the rest of the workload usually keeps serving (a rollout to a bad image stops at its surge, a DaemonSet on one new node is one pod): a person fixes the image or the credentials in business hours. A Deployment that drops below its desired replicas because of it raises the Alert (deployment-replicas, "blocked by image"), a cluster component component-unavailable.',
  defaultLevel: 'notice',
  defaultForMs: 2 * 60_000,
  inputs: ['Pod', 'Event', 'ReplicaSet'],
  options,
  evaluate(ctx) {
    const { view, now, options: o } = ctx;
    const reasons = new Set(o.reasons);
    const failing = (c: ContainerRecord): boolean => c.state === 'waiting' && reasons.has(c.reason ?? '');
    const stuck = view
      .list('Pod')
      .filter((p) => ctx.inScope(p) && p.deletedAt === undefined && allContainers(p).some(failing));
    if (stuck.length === 0) return [];
    // Where each image runs fine now: a pull that works elsewhere points at the node or the pod's
    // credentials rather than the image itself.
    const runningOn = new Map<string, Set<string>>();
    for (const p of view.list('Pod')) {
      if (!p.nodeName || p.deletedAt !== undefined) continue;
      for (const c of allContainers(p)) {
        if (c.state !== 'running') continue;
        let nodes = runningOn.get(c.image);
        if (!nodes) runningOn.set(c.image, (nodes = new Set()));
        nodes.add(p.nodeName);
      }
    }
    const findings: Finding[] = [];
    for (const { workload, pods } of groupByWorkload(view, stuck).values()) {
      const evidence: Evidence[] = [];
      const images = new Map<string, { reason: string | undefined; texts: string[]; pods: PodRecord[] }>();
      let since = now;
      for (const pod of pods) {
        const events = view.eventsFor('Pod', pod.namespace, pod.name).filter(isPullEvent);
        for (const e of events) if (e.firstAt !== undefined) since = Math.min(since, e.firstAt);
        for (const c of allContainers(pod)) {
          if (!failing(c)) continue;
          // A container that never ran has been waiting for its image since the pod started.
          if (events.length === 0 && c.restarts === 0 && c.lastTermination === undefined)
            since = Math.min(since, pod.createdAt);
          let entry = images.get(c.image);
          if (!entry) images.set(c.image, (entry = { reason: c.reason, texts: [], pods: [] }));
          if (c.message) entry.texts.push(c.message);
          for (const e of events) if (e.message.includes(c.image)) entry.texts.push(e.message);
          if (!entry.pods.includes(pod)) entry.pods.push(pod);
          if (evidence.length < 8) evidence.push(...containerEvidence(pod, c, now));
        }
        // The pull error itself (it names the registry and the reason), then the back-off.
        const pullErrors = events.filter((e) => e.reason === 'Failed' && !/^Error: /.test(e.message));
        if (evidence.length < 14) {
          evidence.push(...eventEvidence(pullErrors, now, 1));
          evidence.push(...eventEvidence(events, now, 1, (e) => e.reason === 'BackOff'));
        }
      }
      const [image, entry] = [...images.entries()][0]!;
      const cause = causeOf(entry.reason, entry.texts);
      const failingNodes = new Set(pods.map((p) => p.nodeName).filter((n): n is string => n !== undefined));
      const elsewhere = [...(runningOn.get(image) ?? [])].filter((n) => !failingNodes.has(n)).sort();
      const sameNode = [...(runningOn.get(image) ?? [])].filter((n) => failingNodes.has(n));
      evidence.unshift({
        type: 'state',
        text:
          elsewhere.length > 0
            ? `the same image ${image} runs on ${elsewhere.length} other node${elsewhere.length === 1 ? '' : 's'} (${elsewhere.slice(0, 3).join(', ')}${elsewhere.length > 3 ? ', ...' : ''}): the failure is specific to ${[...failingNodes].join(', ') || 'these pods'}`
            : sameNode.length > 0
              ? `the same image ${image} runs on the same node: the pull fails for these pods only (their imagePullSecrets or pull policy)`
              : `no running container uses ${image} anywhere in the cluster`,
      });
      const where = `${workload.namespace}/${workload.name}`;
      const nsFlag = ns(workload.namespace);
      const pod = entry.pods[0]!;
      const byCause: string[] =
        elsewhere.length > 0
          ? [
              `The image pulls fine on ${elsewhere[0]}: check the failing node's path to the registry (DNS, proxy, firewall, node credentials) and the pod's imagePullSecrets.`,
            ]
          : cause === 'not-found'
            ? [
                `The tag or repository does not exist: check the image reference in the ${workload.kind.toLowerCase()} spec against the registry (a typo, or the tag was never pushed by CI).`,
                ...(workload.kind === 'Deployment'
                  ? [`kubectl rollout undo deployment${nsFlag} ${workload.name}`]
                  : []),
              ]
            : cause === 'unauthorized'
              ? [
                  `The registry refused the credentials: check the pod's imagePullSecrets and its service account (kubectl get serviceaccount${nsFlag} -o yaml), and that the secret is in namespace ${workload.namespace} and not expired.`,
                ]
              : cause === 'unreachable'
                ? [
                    'The registry cannot be reached from the node: check DNS, egress (firewall, proxy, NAT) and the registry status.',
                  ]
                : cause === 'rate-limited'
                  ? [
                      'The registry rate-limits pulls (Docker Hub anonymous pulls): authenticate with an imagePullSecret or use a mirror.',
                    ]
                  : cause === 'invalid-name'
                    ? ['The image reference is malformed: fix it in the workload spec.']
                    : ['Read the pull error in the events: it names the registry and the reason.'];
      findings.push({
        ruleId: 'image-pull',
        level: ctx.level,
        object: workload,
        title: `${workload.kind} ${where}: ${pods.length} pod${pods.length === 1 ? '' : 's'} cannot pull ${image} (${CAUSE_TEXT[cause]}${elsewhere.length > 0 ? `; it runs on ${elsewhere.length} other node${elsewhere.length === 1 ? '' : 's'}` : ''})`,
        loop: imagePull.loop,
        message: `${pods.length} pod${pods.length === 1 ? '' : 's'} of ${workload.kind} ${where} ${pods.length === 1 ? 'is' : 'are'} waiting in ${entry.reason ?? 'ErrImagePull'} for image ${image}: ${CAUSE_TEXT[cause]}${elsewhere.length > 0 ? `, although the same image runs on ${elsewhere.length} other node${elsewhere.length === 1 ? '' : 's'}` : ''}. The kubelet retries with a growing back-off, which cannot fix this; these pods will not start.`,
        evidence,
        nextSteps: [
          `kubectl describe pod${nsFlag} ${pod.name}`,
          `kubectl get events${nsFlag} --field-selector involvedObject.name=${pod.name},reason=Failed`,
          ...byCause,
        ],
        facts: {
          image,
          cause,
          pods: pods.length,
          pod: pod.name,
          reason: entry.reason ?? 'ErrImagePull',
          runsElsewhere: elsewhere.length > 0,
          ...singleNode(pods),
        },
        since,
      });
    }
    return findings;
  },
};
