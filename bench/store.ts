/**
 * Store write throughput: alert history (upsert + event with its finding snapshot, batched per
 * evaluation as the service writes them) and None-level samples, on a real file in WAL mode. Prints
 * a table; asserts nothing.
 *
 * Usage: node --import tsx bench/store.ts [--events 20000] [--batch 50] [--samples 200000]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Finding } from '../src/domain/index.js';
import { Store } from '../src/store/index.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '50' },
    samples: { type: 'string', default: '200000' },
  },
});
const EVENTS = Number(values.events);
const BATCH = Number(values.batch);
const SAMPLES = Number(values.samples);

/** A finding the size of a real one: a title, a loop, five evidence lines, three next steps. */
function findingOf(i: number): Finding {
  return {
    ruleId: 'crashloop',
    level: 'notice',
    object: { kind: 'Deployment', namespace: `team-${i % 40}`, name: `svc-${i}` },
    title: `Deployment team-${i % 40}/svc-${i}: 2 of 3 pods in CrashLoopBackOff`,
    loop: 'the kubelet restarts a crashing container with a growing back-off; restarting cannot fix the cause',
    message: `The container app keeps exiting (exit code 1, Error) and the kubelet restarts it with a growing back-off (${i % 17} restarts so far).`,
    evidence: Array.from({ length: 5 }, (_, k) => ({
      type: 'event' as const,
      text: `Warning BackOff (x${k + 3} over ${k + 2}m): Back-off restarting failed container app in pod svc-${i}-abc${k}`,
      at: 1_700_000_000_000 + k,
    })),
    nextSteps: [
      `kubectl logs -n team-${i % 40} svc-${i}-abc0 -c app --previous`,
      `kubectl describe pod -n team-${i % 40} svc-${i}-abc0`,
      'Check what changed recently: image, configuration, dependencies.',
    ],
    facts: { pods: 2, restarts: i % 17, node: `node-${i % 100}` },
    since: 1_700_000_000_000,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'hw-bench-store-'));
const file = join(dir, 'healwatch.db');
const store = Store.open(file);
try {
  const t0 = performance.now();
  for (let start = 0; start < EVENTS; start += BATCH) {
    store.transaction(() => {
      for (let i = start; i < Math.min(EVENTS, start + BATCH); i++) {
        const finding = findingOf(i);
        const at = 1_700_000_000_000 + i * 1000;
        const fingerprint = `crashloop|Deployment/${finding.object.namespace}/${finding.object.name}`;
        store.upsertAlert(
          {
            fingerprint,
            state: 'firing',
            level: 'notice',
            finding,
            pendingSince: at - 120_000,
            firingSince: at,
            resolvedAt: undefined,
            lastSeenAt: at,
          },
          at,
        );
        store.appendAlertEvent({ fingerprint, at, kind: 'fired', level: 'notice', finding });
      }
    });
  }
  const historyMs = performance.now() - t0;
  const t1 = performance.now();
  const chunk = 5000;
  for (let start = 0; start < SAMPLES; start += chunk) {
    const batch = [];
    for (let i = start; i < Math.min(SAMPLES, start + chunk); i++)
      batch.push({
        series: `node-usage/cpu/node-${i % 500}`,
        at: 1_700_000_000_000 + Math.floor(i / 500) * 30_000,
        value: i % 100,
      });
    store.writeSamples(batch);
  }
  const samplesMs = performance.now() - t1;
  const rows = [
    [
      'alert history (upsert + event, batches of ' + String(BATCH) + ')',
      String(EVENTS),
      `${(historyMs / 1000).toFixed(2)} s`,
      `${Math.round(EVENTS / (historyMs / 1000)).toLocaleString('en')} /s`,
    ],
    [
      'samples (batches of 5,000)',
      String(SAMPLES),
      `${(samplesMs / 1000).toFixed(2)} s`,
      `${Math.round(SAMPLES / (samplesMs / 1000)).toLocaleString('en')} /s`,
    ],
  ];
  console.log('| write | rows | time | throughput |');
  console.log('|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log(
    `\nDatabase file after the run: ${(statSync(file).size / 2 ** 20).toFixed(1)} MiB (WAL mode, synchronous=NORMAL).`,
  );
} finally {
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
