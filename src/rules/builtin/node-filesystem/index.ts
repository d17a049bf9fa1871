import { z } from 'zod';
import type { NodeSummary } from '../../../cluster/index.js';
import type { Evidence, Finding } from '../../../domain/index.js';
import { ago, eventEvidence } from '../../helpers.js';
import type { Rule } from '../../rule.js';
import {
  aboveSince,
  forecastFacts,
  fillEvidence,
  forecastFull,
  FORECAST_DEFAULTS,
  gib,
  pct,
  readFs,
  type FsReading,
} from '../nodes-helpers.js';

const options = z
  .object({
    /** Fire above this used share of a filesystem (the kubelet's image GC starts at 85 %, eviction at 90 %). */
    usedPercent: z.number().min(1).max(100).default(85),
    /** Fire when the fill rate of the last hour says the filesystem is full within this many hours. */
    forecastHours: z.number().positive().default(4),
  })
  .strict();

type Fs = 'nodefs' | 'imagefs';

/** The filesystems of one node summary worth judging: imagefs only when it is a disk of its own. */
function filesystems(s: NodeSummary): { fs: Fs; reading: FsReading }[] {
  const out: { fs: Fs; reading: FsReading }[] = [];
  const node = readFs(s.fs);
  if (node) out.push({ fs: 'nodefs', reading: node });
  const image = readFs(s.imageFs);
  // Most nodes keep images on the root disk: the summary then reports the same capacity and free
  // space for both, and one disk must give one finding, not two.
  const isSameDisk =
    node !== undefined &&
    image !== undefined &&
    image.capacityBytes === node.capacityBytes &&
    image.availableBytes === node.availableBytes;
  if (image && !isSameDisk) out.push({ fs: 'imagefs', reading: image });
  return out;
}

const NAMES: Record<Fs, string> = {
  nodefs: 'node filesystem (kubelet root: logs, emptyDir, writable layers)',
  imagefs: 'image filesystem (container images)',
};

/** Node events that tell what the kubelet did about the disk. */
const DISK_EVENTS = new Set([
  'ImageGCFailed',
  'FreeDiskSpaceFailed',
  'EvictionThresholdMet',
  'NodeHasDiskPressure',
]);

/**
 * Node and image filesystem usage from the kubelet summaries: above a threshold, or forecast full
 * within hours from the fill rate of the last hour. One finding per node and filesystem, before the
 * kubelet's own eviction starts.
 */
export const nodeFilesystem: Rule<z.infer<typeof options>> = {
  id: 'node-filesystem',
  summary: 'Node and image filesystems above a usage threshold or forecast full within hours',
  loop: "the kubelet's image garbage collection (from 85 %) and eviction manager (below 10-15 % free) reclaim disk by deleting unused images and evicting pods; they cannot delete what running pods and the system keep writing",
  rationale:
    'Pulled images, logs and emptyDir volumes accumulate on nodes. Image GC and eviction reclaim some of it, but once they have to evict, pods are already being killed. A filling disk is outside what self-healing repairs and nothing is broken yet, so this is a Notice that arrives before the kubelet starts evicting.',
  defaultLevel: 'notice',
  defaultForMs: 5 * 60_000,
  needsHistory: 'the fill-rate forecast needs 10 minutes of samples; the usage threshold is judged at once',
  inputs: ['Node', 'Event'],
  options,
  sample(view) {
    const values: Record<string, number> = {};
    for (const s of view.probes.summaries.values())
      for (const { fs, reading } of filesystems(s)) values[`${s.node}/${fs}`] = reading.usedPercent;
    return values;
  },
  evaluate(ctx) {
    const { view, now, options: o } = ctx;
    const findings: Finding[] = [];
    for (const s of view.probes.summaries.values()) {
      const node = view.get('Node', undefined, s.node);
      if (node && (node.deletedAt !== undefined || !ctx.inScope(node))) continue;
      for (const { fs, reading: r } of filesystems(s)) {
        const key = `${s.node}/${fs}`;
        const isOver = r.usedPercent >= o.usedPercent;
        const forecast = forecastFull(ctx.samples, key, r.usedPercent, now, {
          ...FORECAST_DEFAULTS,
          forecastHours: o.forecastHours,
        });
        if (!isOver && !forecast) continue;
        const evidence: Evidence[] = fillEvidence(NAMES[fs], r, forecast, now, s.serverAt);
        if (fs === 'nodefs') {
          const image = readFs(s.imageFs);
          if (image && s.imageFs.usedBytes !== undefined && filesystems(s).length === 1)
            evidence.push({
              type: 'metric',
              text: `images take ${gib(s.imageFs.usedBytes)} of it (they share the disk)`,
            });
        }
        const pressure = node?.conditions.DiskPressure;
        if (pressure?.status === 'True')
          evidence.push({
            type: 'condition',
            text: `DiskPressure=True (${pressure.reason ?? ''}): the kubelet is already evicting pods`,
            ...(pressure.lastTransitionAt !== undefined ? { at: pressure.lastTransitionAt } : {}),
          });
        evidence.push(
          ...eventEvidence(view.eventsFor('Node', undefined, s.node), now, 3, (e) =>
            DISK_EVENTS.has(e.reason),
          ),
        );
        const free = 100 - r.usedPercent;
        const why = isOver
          ? `is ${pct(r.usedPercent)} full (threshold ${o.usedPercent}%)`
          : `is ${pct(r.usedPercent)} full and filling at ${pct(forecast!.trend.ratePerHour)} per hour`;
        findings.push({
          ruleId: 'node-filesystem',
          level: ctx.level,
          object: { kind: 'Node', name: s.node },
          key: fs,
          title: `Node ${s.node}: ${fs} ${pct(r.usedPercent)} full${forecast ? `, full in about ${ago(forecast.hoursToFull * 3_600_000)}` : ''}`,
          loop: nodeFilesystem.loop,
          message: `The ${NAMES[fs]} of ${s.node} ${why}${forecast && isOver ? `, and at ${pct(forecast.trend.ratePerHour)} per hour it is full in about ${ago(forecast.hoursToFull * 3_600_000)}` : forecast ? `: full in about ${ago(forecast.hoursToFull * 3_600_000)}` : ''}. ${
            free < 10
              ? 'Below 10 % free the kubelet reports DiskPressure and evicts pods.'
              : free < 15
                ? 'At 10-15 % free the kubelet starts evicting pods (DiskPressure).'
                : 'Image garbage collection runs from 85 % used; below 10-15 % free the kubelet evicts pods.'
          }`,
          evidence,
          nextSteps: [
            `kubectl get --raw /api/v1/nodes/${s.node}/proxy/stats/summary | jq '.node.fs, .node.runtime.imageFs, [.pods[] | {pod: .podRef.name, ns: .podRef.namespace, ephemeral: ."ephemeral-storage".usedBytes}] | sort_by(-.ephemeral) | .[:10]'`,
            `kubectl describe node ${s.node}`,
            fs === 'imagefs'
              ? 'Images: remove unused ones on the node (`crictl rmi --prune`), and check for many large tags of the same image (every rollout pulls a new one).'
              : 'Usual causes: container logs without rotation, emptyDir volumes written without a sizeLimit, pods writing to their writable layer, unused images. Set ephemeral-storage requests/limits so the kubelet evicts the writer, not its neighbours.',
            ...(forecast
              ? [
                  'The forecast is a straight line through the last hour: find what started writing then (a new rollout, a log storm, a job).',
                ]
              : []),
          ],
          facts: {
            node: s.node,
            filesystem: fs,
            usedPercent: Math.round(r.usedPercent * 10) / 10,
            usedBytes: r.usedBytes,
            capacityBytes: r.capacityBytes,
            availableBytes: r.availableBytes,
            ...forecastFacts(forecast),
          },
          // Over the threshold: since the first sample of the current run above it. A forecast alone
          // has no start the objects can tell, so its `for` counts from the first sighting.
          ...(isOver ? { since: aboveSince(ctx.samples, key, o.usedPercent, now) } : {}),
        });
      }
    }
    return findings;
  },
};
