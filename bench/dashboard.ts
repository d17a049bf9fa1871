/**
 * Dashboard and API response times on a large cluster: the simulator with N nodes and 30 pods per node in
 * a child process, Healwatch (service, store, API, dashboard) in this one. Measures the API's answers
 * the dashboard reads (median and p95 of repeated requests, and their size), and with Debian's Chromium
 * the time from navigation to each page rendered with its data. Prints tables; asserts nothing.
 *
 * Usage: node --max-old-space-size=8192 --import tsx bench/dashboard.ts [--nodes 5000] [--rounds 10]
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { startRunner } from '../src/app/runner.js';
import { Connection } from '../src/cluster/index.js';
import { parseConfig } from '../src/config/index.js';
import { startSim, stopSim } from './sim-process.js';

const { values } = parseArgs({
  options: { nodes: { type: 'string', default: '5000' }, rounds: { type: 'string', default: '10' } },
});
const NODES = Number(values.nodes);
const ROUNDS = Number(values.rounds);
const CHROMIUM = process.env.HEALWATCH_CHROMIUM ?? '/usr/bin/chromium';

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const ms = (x: number): string => `${x.toFixed(0)} ms`;

const home = mkdtempSync(join(tmpdir(), 'hw-bench-dash-'));
process.stderr.write(`starting the simulator: ${NODES} nodes, ~${NODES * 30} pods...\n`);
const sim = await startSim(['--nodes', String(NODES), '--pods-per-node', '30'], home);
const started = performance.now();
const runner = await startRunner({
  connection: Connection.load({ kubeconfig: sim.kubeconfig }),
  config: parseConfig('clusterName: bench\n', 'bench'),
  host: '127.0.0.1',
  port: 0,
  log: (line) => process.stderr.write(`  ${line}\n`),
});
await runner.started;
process.stderr.write(`synced and evaluated in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
const base = runner.server.url;
const rss = process.memoryUsage().rss;

const endpoints = [
  '/api/v1/overview',
  '/api/v1/nodes?limit=50',
  '/api/v1/nodes?limit=50&offset=4950',
  '/api/v1/workloads?limit=50',
  '/api/v1/alerts?limit=100',
  '/api/v1/findings?limit=100',
  '/api/v1/health',
  '/api/v1/series',
];
const apiRows: string[] = [];
for (const path of endpoints) {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    try {
      const res = await fetch(`${base}${path}`);
      const text = await res.text();
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
      times.push(performance.now() - t0);
      bytes = text.length;
    } catch (error) {
      process.stderr.write(
        `${path}: ${error instanceof Error ? `${error.message} ${(error.cause as Error | undefined)?.message ?? ''}` : String(error)} after ${ms(performance.now() - t0)}\n`,
      );
    }
  }
  if (times.length === 0) {
    apiRows.push(`| \`${path}\` | failed | | |`);
    continue;
  }
  apiRows.push(
    `| \`${path}\` | ${ms(pct(times, 50))} | ${ms(pct(times, 95))} | ${(bytes / 1024).toFixed(1)} KiB |`,
  );
}
console.log(
  `\nAPI at ${NODES} nodes / ${NODES * 30} pods (${ROUNDS} requests each; monitor RSS ${(rss / 2 ** 20).toFixed(0)} MiB)`,
);
const evaluation = runner.service.health().lastEvaluation;
console.log(
  `(one rule evaluation takes ${evaluation ? ms(evaluation.durationMs) : '?'} here, on the same event loop: a request that arrives during one waits for it)`,
);
console.log('| endpoint | p50 | p95 | size |\n|---|---|---|---|');
console.log(apiRows.join('\n'));

if (existsSync(CHROMIUM)) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const pageRows: string[] = [];
  for (const route of ['overview', 'findings', 'nodes', 'workloads', 'history']) {
    const times: number[] = [];
    for (let i = 0; i < Math.min(ROUNDS, 5); i++) {
      await page.goto('about:blank');
      const t0 = performance.now();
      await page.goto(`${base}/#/${route}`);
      await page.waitForSelector('body[data-rendered]', { timeout: 60_000 });
      times.push(performance.now() - t0);
    }
    pageRows.push(`| ${route} | ${ms(pct(times, 50))} | ${ms(Math.max(...times))} |`);
  }
  await browser.close();
  console.log(
    `\nDashboard pages in headless Chromium (navigation to rendered with data, ${Math.min(ROUNDS, 5)} loads each)`,
  );
  console.log('| page | p50 | max |\n|---|---|---|');
  console.log(pageRows.join('\n'));
} else console.log(`\n(no Chromium at ${CHROMIUM}: page times skipped)`);

await runner.stop();
await stopSim(sim);
rmSync(home, { recursive: true, force: true });
