import { z } from 'zod';
import { detectPlatform, type CertificateInfo, type CertificateRecord } from '../../../cluster/index.js';
import type { Evidence, Finding, Level, ObjectRef } from '../../../domain/index.js';
import { ago, ns } from '../../helpers.js';
import type { Rule, RuleContext } from '../../rule.js';

const DAY = 86_400_000;

const options = z
  .object({
    /** Days before expiry from which a certificate is reported as a Notice. */
    noticeDays: z.number().min(0).default(30),
    /** Days before expiry (or expired) from which it is an Alert. */
    alertDays: z.number().min(0).default(7),
    /**
     * Minutes cert-manager gets past a Certificate's renewalTime (or after it turned Ready=False)
     * before that counts as failing: issuing takes seconds to minutes.
     */
    graceMinutes: z.number().min(0).default(60),
  })
  .strict();

type Options = z.infer<typeof options>;

const CLUSTER: ObjectRef = { kind: 'Cluster', name: 'cluster' };

/** The less urgent of two levels: the configured level caps what the rule computes. */
function capped(level: 'notice' | 'alert', cap: Level): Level {
  if (cap === 'none') return 'none';
  return cap === 'notice' ? 'notice' : level;
}

/** `in 29 days`, `in 6 hours`, `2 days ago`. */
function untilText(ms: number): string {
  if (ms < 0) return `${ago(-ms)} ago`;
  if (ms >= 2 * DAY) return `in ${Math.floor(ms / DAY)} days`;
  return `in ${ago(ms)}`;
}

function date(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The window a certificate with `left` ms to live falls in, or undefined when it is not close. */
function windowOf(left: number, o: Options): 'notice' | 'alert' | undefined {
  if (left <= o.alertDays * DAY) return 'alert';
  if (left <= o.noticeDays * DAY) return 'notice';
  return undefined;
}

/** When the certificate entered the window it is in now (what the `for` counts from). */
function enteredAt(notAfter: number, window: 'notice' | 'alert', o: Options): number {
  return notAfter - (window === 'alert' ? Math.min(o.alertDays, o.noticeDays) : o.noticeDays) * DAY;
}

/** Who owns a cluster certificate, whether it rotates, and what to do: per kind and platform. */
function ownership(
  kind: CertificateInfo['kind'],
  platform: string,
  isManaged: boolean,
): { owner: string; rotates: string; steps: string[] } {
  switch (kind) {
    case 'api-serving':
      return isManaged
        ? {
            owner: `${platform.toUpperCase()} (the provider runs the API server)`,
            rotates:
              'the provider rotates it; a certificate this close to expiry means its rotation is overdue',
            steps: [
              `Open a support case with ${platform.toUpperCase()}: the API server's serving certificate is the provider's to rotate.`,
              'kubectl get --raw /version -v=6   # confirm which endpoint answers',
            ],
          }
        : {
            owner: 'the cluster administrator (kubeadm or whatever installed the control plane)',
            rotates:
              'kubeadm renews it on every control-plane upgrade and on `kubeadm certs renew`; nothing renews it by itself otherwise',
            steps: [
              'On a control-plane node: sudo kubeadm certs check-expiration',
              'sudo kubeadm certs renew apiserver   # then restart the kube-apiserver static pod (move its manifest out of /etc/kubernetes/manifests and back)',
              'Upgrading the control plane with kubeadm upgrade also renews every certificate.',
            ],
          };
    case 'kubeconfig-client':
      return {
        owner: 'whoever issued the kubeconfig Healwatch uses',
        rotates:
          'it does not rotate: when it expires Healwatch can no longer read the cluster (and neither can anyone else using this kubeconfig)',
        steps: [
          'kubectl config view --minify --raw -o jsonpath="{.users[0].user.client-certificate-data}" | base64 -d | openssl x509 -noout -enddate',
          isManaged
            ? 'Fetch a fresh kubeconfig from the provider (az aks get-credentials, aws eks update-kubeconfig, gcloud container clusters get-credentials) or switch Healwatch to a ServiceAccount token.'
            : 'Issue a new kubeconfig (sudo kubeadm kubeconfig user --client-name=healwatch, or kubeadm certs renew admin.conf) or run Healwatch in-cluster with a ServiceAccount token.',
        ],
      };
    case 'kubelet-client':
    case 'kubelet-serving': {
      const which = kind === 'kubelet-client' ? 'client' : 'serving';
      return {
        owner: 'the kubelet on each node (signed by the cluster CA through CertificateSigningRequests)',
        rotates:
          kind === 'kubelet-client'
            ? 'the kubelet renews it at 70–90% of its lifetime when rotateCertificates is on (the default): this close to expiry means rotation is failing'
            : 'the kubelet renews it when serverTLSBootstrap is on, and someone must approve its CSRs: this close to expiry means rotation is failing or not set up',
        steps: [
          'kubectl get csr --sort-by=.metadata.creationTimestamp   # Pending CSRs from system:node:* mean nobody approves them',
          `On the node: sudo openssl x509 -noout -enddate -in /var/lib/kubelet/pki/kubelet${which === 'client' ? '-client-current' : '-server-current'}.pem`,
          'sudo journalctl -u kubelet | grep -i certificate',
          kind === 'kubelet-client'
            ? 'When it expires the node goes NotReady and its pods are evicted: renew before that (kubeadm: restart the kubelet after approving CSRs; or re-join the node).'
            : 'When it expires kubectl logs/exec and metrics scraping of the node fail; approve the Pending CSRs (kubectl certificate approve NAME).',
        ],
      };
    }
  }
}

/** The three findings about cluster certificates (API serving, kubeconfig client) and kubelets. */
function clusterFindings(ctx: RuleContext<Options>): Finding[] {
  const { view, now, options: o } = ctx;
  const platform = detectPlatform(view, view.probes.version);
  const findings: Finding[] = [];
  const certs = [...view.probes.certificates.values()];
  for (const cert of certs) {
    if (cert.kind !== 'api-serving' && cert.kind !== 'kubeconfig-client') continue;
    const left = cert.notAfter - now;
    let window = windowOf(left, o);
    if (!window) continue;
    // On a managed platform the provider rotates the serving certificate on its own schedule, which may
    // well fall inside our notice window: only a certificate about to expire is worth anyone's time.
    if (cert.kind === 'api-serving' && platform.isManaged && window !== 'alert') continue;
    if (cert.kind === 'api-serving' && platform.isManaged) window = 'alert';
    const own = ownership(cert.kind, platform.platform, platform.isManaged);
    const what =
      cert.kind === 'api-serving'
        ? "the API server's serving certificate"
        : "the kubeconfig's client certificate";
    const evidence: Evidence[] = [
      {
        type: 'state',
        text: `${what}: notAfter ${date(cert.notAfter)} (${untilText(left)}), read from the ${cert.source} ${ago(now - cert.serverAt)} ago`,
        at: cert.serverAt,
      },
      ...(cert.subject ? [{ type: 'state' as const, text: `subject ${cert.subject}` }] : []),
      ...(cert.issuer ? [{ type: 'state' as const, text: `issuer ${cert.issuer}` }] : []),
      ...(cert.verifyError ? [{ type: 'state' as const, text: `verification: ${cert.verifyError}` }] : []),
    ];
    findings.push({
      ruleId: 'certificate-expiry',
      level: capped(window, ctx.level),
      object: CLUSTER,
      key: cert.kind,
      title: `${what[0]!.toUpperCase()}${what.slice(1)} ${left <= 0 ? 'has expired' : `expires ${untilText(left)}`}`,
      loop: certificateExpiry.loop,
      message: `${what[0]!.toUpperCase()}${what.slice(1)} ${left <= 0 ? 'expired' : 'expires'} on ${date(cert.notAfter)}. Owner: ${own.owner}. Rotation: ${own.rotates}.${
        cert.kind === 'api-serving'
          ? ' When it expires, every client (kubelets, controllers, kubectl, Healwatch) refuses to talk to the API server.'
          : ''
      }`,
      evidence,
      nextSteps: own.steps,
      facts: {
        certificate: cert.kind,
        notAfter: date(cert.notAfter),
        daysLeft: Math.floor(left / DAY),
        owner: own.owner,
        platform: platform.platform,
      },
      since: enteredAt(cert.notAfter, window, o),
    });
  }

  // Kubelet certificates: one finding per kind across nodes. A rotation that fails usually fails for
  // every node at once (the CSR approver or signer is broken), and 50 node-by-node findings would bury
  // the one thing to fix; the evidence lists the nodes, soonest first.
  for (const kind of ['kubelet-client', 'kubelet-serving'] as const) {
    const close = certs
      .filter((c) => c.kind === kind && c.node !== undefined)
      .map((c) => ({ cert: c, left: c.notAfter - now }))
      .filter((c) => windowOf(c.left, o) !== undefined)
      .sort((a, b) => a.left - b.left);
    const first = close[0];
    if (!first) continue;
    const window = windowOf(first.left, o)!;
    const own = ownership(kind, platform.platform, platform.isManaged);
    const which = kind === 'kubelet-client' ? 'client' : 'serving';
    const expired = close.filter((c) => c.left <= 0).length;
    const nodes = close.map((c) => c.cert.node!);
    findings.push({
      ruleId: 'certificate-expiry',
      level: capped(window, ctx.level),
      object: CLUSTER,
      key: kind,
      title: `Kubelet ${which} certificate${close.length === 1 ? ` of node ${first.cert.node}` : `s of ${close.length} nodes`} ${
        first.left <= 0 ? 'expired' : `expire${close.length === 1 ? 's' : ''} ${untilText(first.left)}`
      }`,
      loop:
        kind === 'kubelet-client'
          ? 'the kubelet renews its client certificate before it expires; when it cannot, the node loses the API server, goes NotReady and its pods are rescheduled elsewhere'
          : certificateExpiry.loop,
      message: `${close.length} node(s) have a kubelet ${which} certificate within ${o.noticeDays} days of expiry${expired > 0 ? ` (${expired} already expired)` : ''}; the soonest, on ${first.cert.node}, ${first.left <= 0 ? 'expired' : 'expires'} on ${date(first.cert.notAfter)}. Owner: ${own.owner}. Rotation: ${own.rotates}.`,
      evidence: close.slice(0, 10).map((c) => ({
        type: 'metric' as const,
        text: `node ${c.cert.node}: kubelet_certificate_manager_${which === 'client' ? 'client' : 'server'}_ttl_seconds says it expires ${untilText(c.left)} (${date(c.cert.notAfter)})`,
        at: c.cert.serverAt,
      })),
      nextSteps: own.steps,
      facts: {
        certificate: kind,
        nodes: close.length,
        expired,
        node: first.cert.node!,
        nodeNames: nodes.slice(0, 20).join(','),
        notAfter: date(first.cert.notAfter),
        daysLeft: Math.floor(first.left / DAY),
      },
      since: enteredAt(first.cert.notAfter, window, o),
    });
  }
  return findings;
}

/**
 * A cert-manager Certificate: cert-manager renews at renewalTime, so closeness to expiry alone is
 * not a problem. It is when the renewal is overdue (renewalTime plus a grace has passed and the
 * certificate is still the old one) or the Certificate is Ready=False, or it has expired.
 */
function certManagerFinding(ctx: RuleContext<Options>, c: CertificateRecord): Finding | undefined {
  const { now, options: o } = ctx;
  const grace = o.graceMinutes * 60_000;
  const ready = c.conditions.Ready;
  const left = c.notAfter !== undefined ? c.notAfter - now : undefined;
  const isExpired = left !== undefined && left <= 0;
  const isOverdue = c.renewalAt !== undefined && now >= c.renewalAt + grace;
  const isNotReady =
    ready?.status === 'False' &&
    (ready.lastTransitionAt === undefined || now >= ready.lastTransitionAt + grace);
  const window = left !== undefined ? windowOf(left, o) : undefined;
  // Renewal still ahead and the Certificate ready: cert-manager will renew it, whatever the days left.
  if (!isExpired && !isOverdue && !isNotReady) return undefined;
  // Ready=False or overdue but far from expiry: issuing fails, nothing is urgent yet.
  const level: 'notice' | 'alert' = isExpired ? 'alert' : (window ?? 'notice');
  const ref = `${c.namespace}/${c.name}`;
  const problem = isExpired
    ? `expired ${untilText(left)}`
    : isOverdue
      ? `was due for renewal ${ago(now - c.renewalAt)} ago and is not renewed`
      : 'is not Ready';
  const since = Math.min(
    ...[
      isOverdue ? c.renewalAt + grace : Infinity,
      isNotReady ? (ready.lastTransitionAt ?? now) : Infinity,
      isExpired ? c.notAfter! : Infinity,
      window && c.notAfter !== undefined ? enteredAt(c.notAfter, window, o) : Infinity,
    ],
  );
  const evidence: Evidence[] = [
    ...(c.notAfter !== undefined
      ? [{ type: 'state' as const, text: `notAfter ${date(c.notAfter)} (${untilText(left!)})` }]
      : [{ type: 'state' as const, text: 'no certificate issued yet (status.notAfter is empty)' }]),
    ...(c.renewalAt !== undefined
      ? [
          {
            type: 'state' as const,
            text: `renewalTime ${date(c.renewalAt)} (${untilText(c.renewalAt - now)})`,
          },
        ]
      : []),
    ...(ready
      ? [
          {
            type: 'condition' as const,
            text: `Ready=${ready.status}${ready.reason ? ` (${ready.reason})` : ''}${ready.message ? `: ${ready.message}` : ''}`,
            ...(ready.lastTransitionAt !== undefined ? { at: ready.lastTransitionAt } : {}),
          },
        ]
      : []),
    ...ctx.view
      .eventsFor('Certificate', c.namespace, c.name)
      .filter((e) => e.type === 'Warning')
      .slice(-3)
      .map((e) => ({
        type: 'event' as const,
        text: `Warning ${e.reason}${e.count > 1 ? ` (x${e.count})` : ''}: ${e.message}`,
        ...(e.lastAt !== undefined ? { at: e.lastAt } : {}),
      })),
  ];
  return {
    ruleId: 'certificate-expiry',
    level: capped(level, ctx.level),
    object: { kind: 'Certificate', namespace: c.namespace, name: c.name },
    title: `cert-manager Certificate ${ref} ${problem}`,
    loop: 'cert-manager renews a Certificate at its renewalTime; when issuing fails, the old certificate runs out and clients refuse the TLS connection',
    message: `The Certificate ${ref}${c.dnsNames.length > 0 ? ` (${c.dnsNames.slice(0, 3).join(', ')}${c.dnsNames.length > 3 ? ', ...' : ''})` : ''} ${problem}${
      left !== undefined && !isExpired ? `; it expires on ${date(c.notAfter!)} (${untilText(left)})` : ''
    }. Owner: cert-manager${c.issuer ? ` with ${c.issuer}` : ''}, which renews it by itself; ${
      isNotReady || isOverdue ? 'its renewal is failing, so a person must find why.' : 'it has run out.'
    }`,
    evidence,
    nextSteps: [
      `kubectl describe certificate${ns(c.namespace)} ${c.name}`,
      `kubectl get certificaterequests,orders,challenges${ns(c.namespace)}   # the failing step of the issuance`,
      ...(c.issuer
        ? [
            `kubectl describe ${c.issuer.toLowerCase().replace('/', ' ')}${c.issuer.startsWith('ClusterIssuer') ? '' : ns(c.namespace)}`,
          ]
        : []),
      'kubectl logs -n cert-manager deploy/cert-manager --since=1h | grep -i error',
      'Usual causes: ACME challenge not reachable (DNS, ingress), issuer credentials expired, rate limits.',
    ],
    facts: {
      certificate: 'cert-manager',
      ...(c.notAfter !== undefined ? { notAfter: date(c.notAfter), daysLeft: Math.floor(left! / DAY) } : {}),
      ...(c.renewalAt !== undefined ? { renewalAt: date(c.renewalAt) } : {}),
      ready: ready?.status ?? 'Unknown',
      ...(c.issuer ? { issuer: c.issuer } : {}),
      ...(c.secretName ? { secretName: c.secretName } : {}),
    },
    since: Number.isFinite(since) ? since : now,
  };
}

/**
 * Certificates close to expiry, per certificate: who owns it and whether it rotates. The API serving
 * and kubeconfig client certificates and the kubelet certificates (from the probes), and cert-manager
 * Certificates (renewal overdue, not Ready, or expired).
 */
export const certificateExpiry: Rule<Options> = {
  id: 'certificate-expiry',
  summary:
    'Certificates close to expiry (Notice within 30 days, Alert within 7 or expired), with who owns each and whether it rotates',
  loop: 'certificates are renewed by whoever owns them (kubeadm, the provider, the kubelet, cert-manager); an expired one cuts the connections that self-healing itself runs on',
  rationale:
    'A month ahead there is time to renew in business hours (Notice); within a week, or once expired, connections are about to fail or already fail — kubelets lose the API server and nodes go NotReady — so it pages (Alert). The configured level is the ceiling: `level: notice` keeps even expired certificates at Notice.',
  defaultLevel: 'alert',
  defaultForMs: 0,
  inputs: ['Certificate'],
  options,
  evaluate(ctx) {
    const findings = clusterFindings(ctx);
    for (const c of ctx.view.list('Certificate')) {
      if (c.deletedAt !== undefined || !ctx.inScope(c)) continue;
      const f = certManagerFinding(ctx, c);
      if (f) findings.push(f);
    }
    return findings;
  },
};
