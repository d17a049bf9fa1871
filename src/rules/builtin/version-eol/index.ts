import { z } from 'zod';
import { detectPlatform, type NodeRecord, type PlatformName } from '../../../cluster/index.js';
import type { Evidence, Finding, ObjectRef } from '../../../domain/index.js';
import type { Rule, RuleContext } from '../../rule.js';
import { EOL_TABLE, EOL_TABLE_AS_OF, EOL_TABLE_RANGE, type EolDate } from './eol.js';

const DAY = 86_400_000;

const options = z
  .object({
    /** Days ahead of the end-of-life date from which the version is reported. */
    warnDays: z.number().int().min(0).default(60),
  })
  .strict();

type Options = z.infer<typeof options>;

const CLUSTER: ObjectRef = { kind: 'Cluster', name: 'cluster' };

/** One end-of-life milestone of the running version on this platform. */
interface Milestone {
  /** What it is (`end of upstream support`, `end of EKS standard support`, ...). */
  what: string;
  at: number;
  isApproximate: boolean;
  /** What passing it means, in a sentence. */
  meaning: string;
}

function ms(d: EolDate): number {
  return Date.parse(`${d.date}T00:00:00Z`);
}

function day(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

const UPSTREAM_MEANING =
  'there are no more patch releases, so security and bug fixes stop, and tools and add-ons drop it from their tested versions';

/** The milestones of `1.MINOR` on a platform, earliest first; undefined when the table does not know it. */
function milestonesOf(minor: number, platform: PlatformName): Milestone[] | undefined {
  const entry = EOL_TABLE[`1.${minor}`];
  if (!entry) return undefined;
  const upstream: Milestone = {
    what: 'end of upstream support',
    at: ms(entry.upstream),
    isApproximate: entry.upstream.isApproximate === true,
    meaning: UPSTREAM_MEANING,
  };
  if (platform === 'eks' && entry.eks) {
    const { standard, extended } = entry.eks;
    return [
      {
        what: 'end of EKS standard support',
        at: ms(standard),
        isApproximate: standard.isApproximate === true,
        meaning: `the cluster moves to EKS extended support, which costs extra per cluster-hour (6 times the standard price), until ${extended.date}`,
      },
      {
        what: 'end of EKS extended support',
        at: ms(extended),
        isApproximate: extended.isApproximate === true,
        meaning: 'EKS upgrades the control plane automatically to the oldest supported version',
      },
    ];
  }
  if (platform === 'gke' && entry.gke)
    return [
      {
        what: 'end of GKE standard support',
        at: ms(entry.gke),
        isApproximate: entry.gke.isApproximate === true,
        meaning:
          'GKE stops patching it and auto-upgrades the control plane and nodes to the next minor version, on its schedule rather than yours (unless the cluster is on the paid Extended channel)',
      },
    ];
  if (platform === 'aks' && entry.aks)
    return [
      {
        what: 'end of AKS support',
        at: ms(entry.aks),
        isApproximate: entry.aks.isApproximate === true,
        meaning:
          'AKS gives platform support only (no Kubernetes fixes, no SLA-backed help with Kubernetes issues) unless the cluster is on Long Term Support',
      },
    ];
  return [upstream];
}

function parseMinor(version: string): { major: number; minor: number } | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

/** The finding about the control plane's version, if it is at, past or near the end of its support. */
function versionFinding(ctx: RuleContext<Options>): Finding | undefined {
  const { view, now, options: o } = ctx;
  const version = view.probes.version;
  if (!version || version.major !== 1) return undefined;
  const platform = detectPlatform(view, version);
  const v = `${version.major}.${version.minor}`;
  // Newer than the table knows: it cannot be near its end of life yet.
  if (version.minor > EOL_TABLE_RANGE.newest) return undefined;
  const milestones = milestonesOf(version.minor, platform.platform);
  const upgradeSteps = upgradeHint(platform.platform, v);
  if (!milestones) {
    // Older than anything in the table: long past its end of life.
    return {
      ruleId: 'version-eol',
      level: ctx.level,
      object: CLUSTER,
      key: 'control-plane',
      title: `Kubernetes ${v} is long past its end of life`,
      loop: versionEol.loop,
      message: `The API server runs ${version.gitVersion}, older than ${1}.${EOL_TABLE_RANGE.oldest}, the oldest version in Healwatch's end-of-life table (as of ${EOL_TABLE_AS_OF}): it gets no security fixes.`,
      evidence: [{ type: 'state', text: `/version: ${version.gitVersion}`, at: version.serverAt }],
      nextSteps: upgradeSteps,
      facts: {
        version: v,
        gitVersion: version.gitVersion,
        platform: platform.platform,
        tableAsOf: EOL_TABLE_AS_OF,
      },
      since: now,
    };
  }
  // The milestone that matters now: the first not yet long past; once all are past, the last.
  const warnMs = o.warnDays * DAY;
  const due = milestones.filter((m) => now >= m.at - warnMs);
  if (due.length === 0) return undefined;
  const current = milestones.find((m) => now < m.at) ?? milestones[milestones.length - 1]!;
  const passed = milestones.filter((m) => now >= m.at);
  const next = milestones.find((m) => now < m.at);
  const daysLeft = Math.ceil((current.at - now) / DAY);
  const about = (m: Milestone): string => `${m.isApproximate ? 'about ' : ''}${day(m.at)}`;
  const title =
    next === undefined
      ? `Kubernetes ${v} is past the ${current.what} (${about(current)})`
      : passed.length > 0
        ? `Kubernetes ${v} is past the ${passed[passed.length - 1]!.what}; the ${next.what} is in ${daysLeft} days`
        : `Kubernetes ${v} reaches the ${current.what} in ${daysLeft} days (${about(current)})`;
  const parts = [
    `The API server runs ${version.gitVersion}${platform.isManaged ? ` on ${platform.label}` : ''}.`,
    ...passed.map((m) => `It passed the ${m.what} on ${about(m)}: ${m.meaning}.`),
    ...(next ? [`The ${next.what} is on ${about(next)} (in ${daysLeft} days): then ${next.meaning}.`] : []),
    `(End-of-life table as of ${EOL_TABLE_AS_OF}${milestones.some((m) => m.isApproximate) ? '; dates marked "about" are estimates' : ''}.)`,
  ];
  return {
    ruleId: 'version-eol',
    level: ctx.level,
    object: CLUSTER,
    key: 'control-plane',
    title,
    loop: versionEol.loop,
    message: parts.join(' '),
    evidence: [
      { type: 'state', text: `/version: ${version.gitVersion}`, at: version.serverAt },
      ...milestones.map((m) => ({
        type: 'state' as const,
        text: `${m.what[0]!.toUpperCase()}${m.what.slice(1)} for ${v}: ${about(m)} (${now >= m.at ? `${Math.floor((now - m.at) / DAY)} days ago` : `in ${Math.ceil((m.at - now) / DAY)} days`})`,
      })),
    ],
    nextSteps: upgradeSteps,
    facts: {
      version: v,
      gitVersion: version.gitVersion,
      platform: platform.platform,
      milestone: current.what,
      eolDate: day(current.at),
      daysLeft,
      isApproximate: current.isApproximate,
      tableAsOf: EOL_TABLE_AS_OF,
    },
    since: due[0]!.at - warnMs,
  };
}

function upgradeHint(platform: PlatformName, v: string): string[] {
  const common = [
    'Before upgrading, check for removed APIs: the deprecated-apis finding, or `kubectl get --raw /metrics | grep apiserver_requested_deprecated_apis`, or pluto/kubent.',
    'Upgrade one minor version at a time, control plane first, then the nodes.',
  ];
  switch (platform) {
    case 'eks':
      return [
        'aws eks describe-cluster --name CLUSTER --query "cluster.{version:version,support:upgradePolicy.supportType}"',
        'aws eks update-cluster-version --name CLUSTER --kubernetes-version NEXT   # then update the node groups and add-ons',
        ...common,
      ];
    case 'gke':
      return [
        'gcloud container clusters describe CLUSTER --format="value(currentMasterVersion,releaseChannel.channel)"',
        'gcloud container get-server-config --format="yaml(channels)"   # versions available on your channel',
        'gcloud container clusters upgrade CLUSTER --master --cluster-version NEXT   # or let the release channel do it inside a maintenance window',
        ...common,
      ];
    case 'aks':
      return [
        'az aks get-upgrades --resource-group RG --name CLUSTER -o table',
        'az aks upgrade --resource-group RG --name CLUSTER --kubernetes-version NEXT',
        ...common,
      ];
    default:
      return [
        `kubectl version   # the server runs ${v}`,
        'sudo kubeadm upgrade plan   # on a control-plane node, for kubeadm clusters',
        ...common,
      ];
  }
}

/**
 * Kubelets outside the supported version skew: at most 3 minors older than the API server (2 before
 * 1.28), and never newer.
 */
function skewFindings(ctx: RuleContext<Options>): Finding[] {
  const version = ctx.view.probes.version;
  if (!version || version.major !== 1) return [];
  const maxOlder = version.minor >= 28 ? 3 : 2;
  const older: { node: NodeRecord; minor: number }[] = [];
  const newer: { node: NodeRecord; minor: number }[] = [];
  for (const node of ctx.view.list('Node')) {
    if (node.deletedAt !== undefined || !ctx.inScope(node)) continue;
    const k = parseMinor(node.kubeletVersion);
    if (!k || k.major !== 1) continue;
    if (k.minor > version.minor) newer.push({ node, minor: k.minor });
    else if (version.minor - k.minor > maxOlder) older.push({ node, minor: k.minor });
  }
  const v = `${version.major}.${version.minor}`;
  const findings: Finding[] = [];
  for (const [key, nodes] of [
    ['kubelet-too-old', older],
    ['kubelet-newer', newer],
  ] as const) {
    if (nodes.length === 0) continue;
    nodes.sort((a, b) => a.minor - b.minor || a.node.name.localeCompare(b.node.name));
    const versions = [...new Set(nodes.map((n) => n.node.kubeletVersion))];
    const isOld = key === 'kubelet-too-old';
    const evidence: Evidence[] = nodes.slice(0, 10).map((n) => ({
      type: 'state',
      text: `node ${n.node.name}: kubelet ${n.node.kubeletVersion}`,
    }));
    findings.push({
      ruleId: 'version-eol',
      level: ctx.level,
      object: CLUSTER,
      key,
      title: `${nodes.length} node(s) run a kubelet ${isOld ? `more than ${maxOlder} minor versions older than` : 'newer than'} the API server (${v})`,
      loop: versionEol.loop,
      message: isOld
        ? `Kubelets ${versions.join(', ')} are more than ${maxOlder} minor versions behind the API server ${version.gitVersion}, outside the supported version skew: the API server may use features they do not understand, and the next control-plane upgrade widens the gap. These nodes were left behind by earlier upgrades.`
        : `Kubelets ${versions.join(', ')} are newer than the API server ${version.gitVersion}; the skew policy never allows that (nodes are upgraded after the control plane, not before). They may send fields the API server drops.`,
      evidence,
      nextSteps: [
        'kubectl get nodes -o custom-columns=NAME:.metadata.name,KUBELET:.status.nodeInfo.kubeletVersion',
        isOld
          ? 'Upgrade these nodes (replace them, or upgrade their node group / node pool) before the next control-plane upgrade.'
          : 'Upgrade the control plane first, or replace these nodes with ones matching the control-plane version.',
        'Version skew policy: https://kubernetes.io/releases/version-skew-policy/',
      ],
      facts: {
        version: v,
        nodes: nodes.length,
        kubeletVersions: versions.join(','),
        ...(nodes.length === 1 ? { node: nodes[0]!.node.name } : {}),
      },
      since: ctx.now,
    });
  }
  return findings;
}

/**
 * The cluster's Kubernetes version at, past or within `warnDays` of its end of life on its platform
 * (upstream, EKS standard/extended support, GKE standard support, AKS support), from a bundled, dated
 * table; and kubelets outside the supported version skew.
 */
export const versionEol: Rule<Options> = {
  id: 'version-eol',
  summary: `Kubernetes version at, past or near its end of life (bundled table as of ${EOL_TABLE_AS_OF}), and kubelets outside the version skew`,
  loop: 'security fixes reach the cluster through patch releases of a supported minor version; past end of life nothing patches it, and managed platforms upgrade it on their schedule or charge for extended support',
  rationale:
    'Nothing breaks on the end-of-life date, and upgrading is planned work for business hours, not a page; but left alone the cluster runs without security fixes (and on EKS pays for extended support, on GKE gets upgraded when the provider decides), which self-healing cannot repair.',
  defaultLevel: 'notice',
  defaultForMs: 0,
  inputs: ['Node'],
  options,
  evaluate(ctx) {
    const findings = skewFindings(ctx);
    const f = versionFinding(ctx);
    if (f) findings.unshift(f);
    return findings;
  },
};
