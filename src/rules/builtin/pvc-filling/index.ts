import { z } from 'zod';
import type { VolumeUsage } from '../../../cluster/index.js';
import type { Evidence, Finding } from '../../../domain/index.js';
import { ago, ns, workloadOf } from '../../helpers.js';
import type { Rule } from '../../rule.js';
import {
  aboveSince,
  forecastFacts,
  fillEvidence,
  forecastFull,
  FORECAST_DEFAULTS,
  pct,
  readFs,
} from '../nodes-helpers.js';

const options = z
  .object({
    /** Fire above this used share of a volume. */
    usedPercent: z.number().min(1).max(100).default(85),
    /** Fire when the fill rate of the last hour says the volume is full within this many hours. */
    forecastHours: z.number().positive().default(4),
  })
  .strict();

const GIB = 2 ** 30;

/** The next size to suggest: about 50 % more, rounded up to whole GiB. */
function suggestedSize(capacityBytes: number): string {
  return `${Math.max(1, Math.ceil((capacityBytes * 1.5) / GIB))}Gi`;
}

function readVolume(v: VolumeUsage): ReturnType<typeof readFs> {
  return readFs({ usedBytes: v.usedBytes, capacityBytes: v.capacityBytes, availableBytes: v.availableBytes });
}

/**
 * PersistentVolumeClaims whose volume is above a usage threshold or forecast full within hours, from
 * the kubelet summaries of the nodes their pods run on. One finding per claim.
 */
export const pvcFilling: Rule<z.infer<typeof options>> = {
  id: 'pvc-filling',
  summary: 'PersistentVolumeClaims above a usage threshold or forecast full within hours',
  loop: 'nothing heals a full volume: Kubernetes never grows or cleans a PVC by itself, and a database or queue on a full volume stops writing',
  rationale:
    'No controller repairs a filling volume, but nothing is broken yet and expanding it (or cleaning up) is a planned change, so it is a Notice, early enough to act in business hours.',
  defaultLevel: 'notice',
  defaultForMs: 5 * 60_000,
  needsHistory: 'the fill-rate forecast needs 10 minutes of samples; the usage threshold is judged at once',
  inputs: ['PersistentVolumeClaim', 'Pod'],
  options,
  sample(view) {
    const values: Record<string, number> = {};
    for (const [key, v] of view.probes.volumes()) {
      const r = readVolume(v);
      if (r) values[key] = r.usedPercent;
    }
    return values;
  },
  evaluate(ctx) {
    const { view, now, options: o } = ctx;
    const findings: Finding[] = [];
    for (const [key, v] of view.probes.volumes()) {
      const pvc = view.get('PersistentVolumeClaim', v.namespace, v.claim);
      if (!ctx.inScope(pvc ?? { namespace: v.namespace })) continue;
      if (pvc?.deletedAt !== undefined) continue;
      const r = readVolume(v);
      if (!r) continue;
      const isOver = r.usedPercent >= o.usedPercent;
      const forecast = forecastFull(ctx.samples, key, r.usedPercent, now, {
        ...FORECAST_DEFAULTS,
        forecastHours: o.forecastHours,
      });
      if (!isOver && !forecast) continue;
      const pod = view.get('Pod', v.namespace, v.pod);
      const owner = pod ? workloadOf(view, pod) : undefined;
      const summary = view.probes.summaries.get(v.node);
      const evidence: Evidence[] = fillEvidence(
        `volume ${v.volume} of pod ${v.namespace}/${v.pod} on ${v.node}`,
        r,
        forecast,
        now,
        summary?.serverAt,
      );
      if (pvc)
        evidence.push({
          type: 'state',
          text: `PVC ${v.namespace}/${v.claim}: ${pvc.phase ?? 'unknown phase'}, storage class ${pvc.storageClass ?? '(default)'}, volume ${pvc.volumeName ?? '?'}, requested ${(pvc.requestBytes / GIB).toFixed(1)} GiB, capacity ${(pvc.capacityBytes / GIB).toFixed(1)} GiB`,
        });
      if (owner && owner.kind !== 'Pod')
        evidence.push({ type: 'state', text: `used by ${owner.kind} ${owner.namespace}/${owner.name}` });
      const size = suggestedSize(r.capacityBytes);
      const sc = pvc?.storageClass;
      const inWords = forecast ? `, full in about ${ago(forecast.hoursToFull * 3_600_000)}` : '';
      findings.push({
        ruleId: 'pvc-filling',
        level: ctx.level,
        object: { kind: 'PersistentVolumeClaim', namespace: v.namespace, name: v.claim },
        title: `PVC ${v.namespace}/${v.claim} ${pct(r.usedPercent)} full${inWords}`,
        loop: pvcFilling.loop,
        message: `The volume of ${v.namespace}/${v.claim} (mounted by ${v.namespace}/${v.pod}${owner && owner.kind !== 'Pod' ? `, ${owner.kind} ${owner.name}` : ''}) ${
          isOver
            ? `is ${pct(r.usedPercent)} full (threshold ${o.usedPercent}%)`
            : `is ${pct(r.usedPercent)} full and grows ${pct(forecast!.trend.ratePerHour)} per hour`
        }${inWords}. When it is full the application can no longer write; nothing in Kubernetes grows or cleans it by itself.`,
        evidence,
        nextSteps: [
          `kubectl describe pvc${ns(v.namespace)} ${v.claim}`,
          `kubectl exec${ns(v.namespace)} ${v.pod} -- df -h   # and du on the mount path, to see what grows`,
          sc
            ? `Check that the storage class can expand volumes: kubectl get storageclass ${sc} -o jsonpath='{.allowVolumeExpansion}'`
            : "Check that the cluster's default storage class can expand volumes: kubectl get storageclass -o custom-columns=NAME:.metadata.name,EXPAND:.allowVolumeExpansion",
          `If it can, expand online: kubectl patch pvc${ns(v.namespace)} ${v.claim} -p '{"spec":{"resources":{"requests":{"storage":"${size}"}}}}'   # then watch the FileSystemResizeSuccessful event`,
          'If it cannot, clean up (old WAL or logs, retention settings of the application) or migrate to a larger volume; for a StatefulSet raise the size in its volumeClaimTemplates too, or new replicas get the old size.',
        ],
        facts: {
          namespace: v.namespace,
          claim: v.claim,
          pod: v.pod,
          node: v.node,
          usedPercent: Math.round(r.usedPercent * 10) / 10,
          usedBytes: r.usedBytes,
          capacityBytes: r.capacityBytes,
          ...forecastFacts(forecast),
        },
        ...(isOver ? { since: aboveSince(ctx.samples, key, o.usedPercent, now) } : {}),
      });
    }
    return findings;
  },
};
