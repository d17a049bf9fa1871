import { Command, InvalidArgumentError, Option } from 'commander';
import {
  ClusterWatcher,
  Connection,
  detectPlatform,
  inventoryControlPlane,
  inventoryCore,
  preflight,
  Prober,
  type InventoryComponent,
  type InventoryCore,
  type ProbeResults,
} from '../../cluster/index.js';
import { HealwatchError } from '../../domain/index.js';

interface InventoryFlags {
  kubeconfig?: string;
  context?: string;
  output: 'table' | 'json';
  timeout: number;
}

/** Everything `healwatch inventory` prints. */
export interface Inventory extends InventoryCore {
  cluster: {
    server: string;
    context: string;
    source: string;
    version: string;
    platform: string;
    evidence: string[];
  };
  sync: { seconds: number; objects: number; kinds: number };
  controlPlane: InventoryComponent[];
  isKubeProxyReplaced: boolean;
  certificates: { kind: string; subject: string | undefined; notAfter: string; daysLeft: number }[];
  /** The soonest-expiring kubelet client and serving certificates, with the node. */
  kubeletCertificates: { kind: string; node: string; daysLeft: number; nodes: number }[];
  /** Probes that did not succeed (not permitted, unavailable, failing), with why. */
  probes: { probe: string; state: string; error: string | undefined }[];
}

function kubeletCertificateSummary(
  probes: ProbeResults,
  serverNow: number,
): Inventory['kubeletCertificates'] {
  const out: Inventory['kubeletCertificates'] = [];
  for (const kind of ['kubelet-client', 'kubelet-serving'] as const) {
    const certs = [...probes.certificates.values()].filter((c) => c.kind === kind);
    const soonest = certs.sort((a, b) => a.notAfter - b.notAfter)[0];
    if (soonest)
      out.push({
        kind,
        node: soonest.node ?? '-',
        daysLeft: Math.floor((soonest.notAfter - serverNow) / 86_400_000),
        nodes: certs.length,
      });
  }
  return out;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('   ')
        .trimEnd(),
    )
    .join('\n');
}

function age(seconds: number | undefined): string {
  if (seconds === undefined) return '-';
  if (seconds < 120) return `${seconds}s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m ago`;
  return `${Math.round(seconds / 3600)}h ago`;
}

/** The human-readable inventory. */
export function renderInventory(inv: Inventory): string {
  const out: string[] = [];
  out.push(`Cluster   ${inv.cluster.server} (context ${inv.cluster.context || '-'})`);
  out.push(`Version   ${inv.cluster.version}`);
  out.push(
    `Platform  ${inv.cluster.platform}${inv.cluster.evidence.length ? ` (${inv.cluster.evidence.join('; ')})` : ''}`,
  );
  out.push(
    `Synced    ${inv.sync.objects} objects of ${inv.sync.kinds} kinds in ${inv.sync.seconds.toFixed(1)} s`,
  );
  out.push('', 'CONTROL PLANE');
  out.push(
    table([
      ['COMPONENT', 'SEEN AS', 'STATUS', 'LEASE HOLDER', 'RENEWED', 'WHEN DOWN'],
      ...inv.controlPlane.map((c) => [
        c.name,
        c.visibility,
        c.reason ? `${c.status}: ${c.reason}` : c.status,
        c.leaseHolder ?? '-',
        age(c.leaseRenewAgeSeconds),
        c.whenDown,
      ]),
    ]),
  );
  if (inv.certificates.length + inv.kubeletCertificates.length > 0) {
    out.push('', 'CERTIFICATES');
    out.push(
      table([
        ['CERTIFICATE', 'EXPIRES IN', 'DETAIL'],
        ...inv.certificates.map((c) => [
          c.kind,
          `${c.daysLeft} days`,
          `${c.subject ?? ''} (until ${c.notAfter})`,
        ]),
        ...inv.kubeletCertificates.map((c) => [
          c.kind,
          `${c.daysLeft} days`,
          `soonest of ${c.nodes} nodes: ${c.node}`,
        ]),
      ]),
    );
  }
  out.push('', 'NODES');
  out.push(
    table([
      ['NAME', 'STATUS', 'ROLES', 'KUBELET', 'ZONE', 'PODS', 'HEARTBEAT'],
      ...inv.nodes.map((n) => [
        n.name,
        `${n.status}${n.isSchedulable ? '' : ',SchedulingDisabled'}${n.reason ? ` (${n.reason})` : ''}`,
        n.roles.join(',') || '<none>',
        n.kubeletVersion,
        n.zone ?? '-',
        String(n.pods),
        age(n.heartbeatAgeSeconds),
      ]),
    ]),
  );
  out.push('', 'CLUSTER COMPONENTS (kube-system and add-ons)');
  out.push(
    table([
      ['NAMESPACE', 'KIND', 'NAME', 'COMPONENT', 'DESIRED', 'AVAILABLE', 'STATUS', 'WHEN DOWN'],
      ...inv.workloads.map((w) => [
        w.namespace,
        w.kind,
        w.name,
        w.component ?? '-',
        String(w.desired),
        String(w.available),
        w.status,
        w.status === 'Healthy' ? '' : (w.whenDown ?? ''),
      ]),
    ]),
  );
  if (inv.isKubeProxyReplaced)
    out.push('', 'kube-proxy: not installed; the CNI replaces it (this is not a missing component).');
  if (inv.probes.length > 0) {
    out.push('', 'NOT OBSERVED');
    for (const p of inv.probes) out.push(`${p.probe}: ${p.state}${p.error ? ` (${p.error})` : ''}`);
  }
  return `${out.join('\n')}\n`;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number of seconds');
  return n;
}

/** `healwatch inventory`: syncs and prints what self-healing stands on. */
export function inventoryCommand(): Command {
  return new Command('inventory')
    .description(
      'sync with a cluster and print what self-healing stands on: control plane, nodes, cluster components, platform',
    )
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--context <name>', 'kubeconfig context (default: the current one)')
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'),
    )
    .option('--timeout <seconds>', 'give up if the initial sync takes longer', seconds, 300)
    .action(async (flags: InventoryFlags) => {
      const log = (line: string): void => void process.stderr.write(`${line}\n`);
      const connection = Connection.load({
        ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
        ...(flags.context ? { context: flags.context } : {}),
      });
      const started = Date.now();
      const pre = await preflight(connection);
      const watcher = new ClusterWatcher(connection);
      try {
        await watcher.start();
        const isTty = process.stderr.isTTY;
        const timeout = new Promise<'timeout'>((resolve) =>
          setTimeout(() => resolve('timeout'), flags.timeout * 1000).unref(),
        );
        const sync = watcher
          .synced((p) => {
            const line = `syncing ${connection.server.origin}: ${p.synced}/${p.total} kinds, ${p.objects} objects${p.pending.length ? ` (waiting for ${p.pending.slice(0, 3).join(', ')}${p.pending.length > 3 ? ', ...' : ''})` : ''}`;
            if (isTty) process.stderr.write(`\r\x1b[K${line}`);
            else if (p.synced === p.total || p.synced % 4 === 0) log(line);
          })
          .then(() => 'synced' as const);
        const result = await Promise.race([sync, timeout]);
        if (isTty) process.stderr.write('\r\x1b[K');
        if (result === 'timeout') {
          const stuck = watcher.view.watches().filter((w) => !w.isSynced);
          throw new HealwatchError(
            'HW_ERR_CLUSTER_UNREACHABLE',
            `initial sync not done after ${flags.timeout} s: ${stuck.map((w) => `${w.resource}${w.lastError ? ` (${w.lastError})` : ''}`).join(', ')}`,
          );
        }
        const view = watcher.view;
        const prober = new Prober(connection, view, { timeoutMs: 10_000 });
        await prober.runOnce();
        const serverNow = Date.now() + connection.serverClockOffsetMs;
        const platform = detectPlatform(view, pre.gitVersion);
        const inventory: Inventory = {
          cluster: {
            server: connection.server.origin,
            context: connection.contextName,
            source: connection.source,
            version: pre.gitVersion,
            platform: platform.label,
            evidence: platform.evidence,
          },
          sync: {
            seconds: (Date.now() - started) / 1000,
            objects: view.watches().reduce((n, w) => n + w.objects, 0),
            kinds: view.watches().filter((w) => w.state !== 'unavailable').length,
          },
          controlPlane: inventoryControlPlane(view, serverNow, platform, view.probes.readyz),
          isKubeProxyReplaced: platform.isKubeProxyReplaced,
          certificates: [...view.probes.certificates.values()]
            .filter((c) => c.kind === 'api-serving' || c.kind === 'kubeconfig-client')
            .map((c) => ({
              kind: c.kind,
              subject: c.subject,
              notAfter: new Date(c.notAfter).toISOString(),
              daysLeft: Math.floor((c.notAfter - serverNow) / 86_400_000),
            })),
          kubeletCertificates: kubeletCertificateSummary(view.probes, serverNow),
          probes: [...view.probes.health.values()]
            .filter((h) => h.state !== 'ok')
            .map((h) => ({ probe: h.name, state: h.state, error: h.lastError })),
          ...inventoryCore(view, serverNow),
        };
        process.stdout.write(
          flags.output === 'json' ? `${JSON.stringify(inventory, null, 2)}\n` : renderInventory(inventory),
        );
      } finally {
        await watcher.stop();
      }
    });
}
