import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startRunner } from '../../src/app/runner.js';
import { Connection } from '../../src/cluster/index.js';
import { parseConfig } from '../../src/config/index.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { launchBrowser } from '../helpers/browser.js';
import { ROOT } from '../helpers/cli.js';

/** Where the README's screenshots are written when HEALWATCH_SCREENSHOTS=1. */
const SHOTS = process.env.HEALWATCH_SCREENSHOTS === '1' ? join(ROOT, 'docs', 'images') : undefined;

async function advance(sim: Simulator, ms: number, evaluate: () => Promise<unknown>): Promise<void> {
  for (let done = 0; done < ms; done += 20_000) {
    sim.advance(Math.min(20_000, ms - done));
    await new Promise((r) => setTimeout(r, 100));
    await evaluate();
  }
}

const colourOf = (page: Page, testid: string): Promise<string | null> =>
  page.getAttribute(`[data-testid="${testid}"]`, 'data-colour');

/**
 * The dashboard in headless Chromium against the monitor on the simulated cluster (what `healwatch demo`
 * runs): green when healthy; after scheduler-down the scheduler turns red with an Alert saying new pods
 * stay Pending, live; a Notice shows its evidence; silencing from the page works; charts have data.
 */
test('dashboard: healthy map green, scheduler-down red and live, a Notice with evidence, silence from the page, charts', async (t) => {
  const browser = await launchBrowser(t);
  if (!browser) return;
  const sim = await startSimulator({ seed: 'dashboard', clock: 'manual', port: 0, bookmarkIntervalMs: 1000 });
  t.after(() => sim.close());
  const runner = await startRunner({
    connection: Connection.fromString(sim.kubeconfig()),
    config: parseConfig('clusterName: demo\nrules:\n  node-not-ready: { for: 30s }\n', 'dashboard-test'),
    host: '127.0.0.1',
    port: 0,
    log: () => undefined,
    service: { now: () => sim.cluster.world.now(), probeIntervalMs: 1000 },
  });
  t.after(() => runner.stop());
  await runner.started;
  const evaluate = (): Promise<unknown> => runner.service.evaluateNow({ probes: true });
  await advance(sim, 120_000, evaluate);

  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(runner.server.url);
  await page.waitForSelector('[data-testid="layer-control-plane"]');
  for (const name of ['kube-apiserver', 'etcd', 'kube-scheduler', 'kube-controller-manager'])
    assert.equal(await colourOf(page, `cp-${name}`), 'green', `${name} is green when healthy`);
  assert.match((await page.textContent('[data-testid="count-alerts"]')) ?? '', /^0/);
  assert.equal(await page.locator('[data-testid="layer-nodes"] .item[data-colour="red"]').count(), 0);
  await page.waitForSelector('#status:has-text("live")');
  if (SHOTS) {
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'overview-healthy.png') });
  }

  // Break the scheduler and a node; the page follows without a reload.
  sim.faults.start({ name: 'scheduler-down' });
  sim.faults.start({ name: 'node-notready', target: 'sim-worker2' });
  await advance(sim, 180_000, evaluate);
  await page.waitForSelector('[data-testid="cp-kube-scheduler"][data-colour="red"]', { timeout: 20_000 });
  const scheduler = (await page.textContent('[data-testid="cp-kube-scheduler"]')) ?? '';
  assert.match(scheduler, /new pods stay Pending/);
  assert.match(scheduler, /ALERT/);
  assert.match((await page.textContent('[data-testid="count-alerts"]')) ?? '', /^[1-9]/);
  assert.equal(await colourOf(page, 'cp-etcd'), 'green', 'only what is broken turns red');
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'overview-scheduler-down.png') });

  // Findings: the Notice about the node, with its evidence.
  await page.click('nav a[href="#/findings"]');
  await page.waitForSelector('[data-testid="finding"][data-rule="node-not-ready"]');
  const notice = page.locator('[data-testid="finding"][data-rule="node-not-ready"]');
  assert.match((await notice.textContent()) ?? '', /NOTICE/);
  assert.ok((await notice.locator('[data-testid="evidence"] li').count()) >= 1, 'the Notice shows evidence');
  assert.match((await notice.locator('[data-testid="evidence"]').textContent()) ?? '', /Ready/);
  const alertCard = page.locator('[data-testid="finding"][data-rule="control-plane"]');
  assert.match((await alertCard.textContent()) ?? '', /new pods stay Pending/);

  // Silence it from the page, by keyboard.
  await notice.locator('button:has-text("Silence…")').focus();
  await page.keyboard.press('Enter');
  await notice.locator('input[name="author"]').fill('e2e');
  await notice.locator('input[name="comment"]').fill('node maintenance');
  await notice.locator('button[type="submit"]').click();
  await notice.locator('[role="status"]:has-text("Silenced")').waitFor();
  const silences = runner.store.listSilences();
  assert.equal(silences.length, 1);
  assert.deepEqual(
    silences[0]!.matchers.map((m) => `${m.label}${m.op}${m.value}`),
    ['rule=node-not-ready', 'object=Node/sim-worker2'],
  );
  assert.equal(silences[0]!.author, 'e2e');

  // Charts from the store.
  await page.click('nav a[href="#/metrics"]');
  await page.waitForSelector('[data-testid="chart"] canvas');
  const charts = page.locator('[data-testid="chart"]');
  // The charts are drawn one after the other (one request each): give the third its time to appear.
  await charts
    .nth(2)
    .waitFor({ timeout: 10_000 })
    .catch(() => undefined);
  assert.ok((await charts.count()) >= 3, `${await charts.count()} charts`);
  const points = Number(await charts.first().getAttribute('data-points'));
  assert.ok(points >= 3, `${points} points in the first chart`);

  // Nodes and workloads tables; the dark theme.
  await page.click('nav a[href="#/nodes"]');
  await page.waitForSelector('[data-testid="nodes"] tbody tr');
  assert.match(
    (await page.textContent('[data-testid="nodes"] tbody tr')) ?? '',
    /sim-worker2(NotReady|Unknown)/,
  );
  await page.click('#theme');
  assert.ok(['dark', 'light'].includes((await page.getAttribute('html', 'data-theme')) ?? ''));
  await page.click('nav a[href="#/workloads"]');
  await page.waitForSelector('[data-testid="workloads"] tbody tr');

  assert.deepEqual(errors, [], 'no script errors');
  const foreign = requests.filter((u) => !u.startsWith(runner.server.url));
  assert.deepEqual(foreign, [], 'everything is served locally');
});

test('dashboard: with a token the page asks for it once, keeps it for the session, and stops cleanly with a stream open', async (t) => {
  const browser = await launchBrowser(t);
  if (!browser) return;
  const sim = await startSimulator({ seed: 'dashboard-token', clock: 'manual', port: 0 });
  t.after(() => sim.close());
  const token = 'dashboard-test-token-0123456789';
  const runner = await startRunner({
    connection: Connection.fromString(sim.kubeconfig()),
    config: parseConfig('{}', 'dashboard-token'),
    host: '127.0.0.1',
    port: 0,
    token,
    log: () => undefined,
    service: { now: () => sim.cluster.world.now(), probeIntervalMs: 1000 },
  });
  let stopped = false;
  t.after(() => (stopped ? undefined : runner.stop()));
  await runner.started;
  const page = await browser.newPage();
  await page.goto(runner.server.url);
  await page.waitForSelector('#token-dialog[open]');
  await page.fill('#token-input', 'wrong');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#token-dialog[open] #token-error:not([hidden])');
  await page.fill('#token-input', token);
  await page.keyboard.press('Enter');
  await page.waitForSelector('[data-testid="layer-control-plane"]');
  await page.waitForSelector('#status:has-text("live")');
  assert.equal(await page.evaluate('sessionStorage.getItem("healwatch.token")'), token);
  // Another section: no second question.
  await page.click('nav a[href="#/nodes"]');
  await page.waitForSelector('[data-testid="nodes"] tbody tr');
  assert.equal(await page.locator('#token-dialog[open]').count(), 0);
  assert.ok(!(await page.content()).includes(token), 'the token is not rendered');
  // The event stream is open: stopping must not wait for the browser to go away.
  const t0 = Date.now();
  await runner.stop();
  stopped = true;
  assert.ok(Date.now() - t0 < 10_000, `stopped in ${Date.now() - t0} ms`);
});
