import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser } from '../helpers/browser.js';
import { runCli, spawnCli } from '../helpers/cli.js';

/**
 * The whole product as a newcomer runs it: `healwatch demo` (real time), its dashboard in Chromium, and
 * `healwatch sim fault scheduler-down` from another command: the map turns the scheduler red by itself,
 * with the Alert saying new pods stay Pending, and the inbox prints it. Takes about two minutes of real
 * time: the scheduler's Lease must go stale and the rule's `for` pass.
 */
test('demo: the dashboard of `healwatch demo` turns the scheduler red after `healwatch sim fault scheduler-down`', async (t) => {
  const browser = await launchBrowser(t);
  if (!browser) return;
  const home = mkdtempSync(join(tmpdir(), 'hw-demo-e2e-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const env = { HEALWATCH_HOME: home };
  const demo = spawnCli(t, ['demo', '--port', '0', '--listen', '127.0.0.1:0'], env);
  await demo.waitFor(/watching: 0 Alerts, 0 Notices firing/);
  const url = /Open the dashboard: (http:\/\/127\.0\.0\.1:\d+)\//.exec(demo.stdout())?.[1];
  assert.ok(url, `the dashboard's address is printed:\n${demo.stdout()}`);
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(url);
  await page.waitForSelector('[data-testid="cp-kube-scheduler"][data-colour="green"]');

  const fault = await runCli(['sim', 'fault', 'scheduler-down'], { env });
  assert.equal(fault.code, 0, fault.stderr);
  // Red at once (the scheduler's pod is failing), then the Alert once its `for` has passed.
  await page.waitForSelector('[data-testid="cp-kube-scheduler"][data-colour="red"]', { timeout: 120_000 });
  await demo.waitFor(/notify inbox \(inbox\): sent ALERT kube-scheduler/, 240_000);
  const scheduler = page.locator('[data-testid="cp-kube-scheduler"]');
  for (let i = 0; i < 100 && !/ALERT kube-scheduler is down/.test((await scheduler.textContent()) ?? ''); i++)
    await page.waitForTimeout(200);
  const text = (await scheduler.textContent()) ?? '';
  assert.match(text, /new pods stay Pending/);
  assert.match(text, /ALERT kube-scheduler is down/, 'the firing Alert is shown without a reload');
  assert.match((await page.textContent('[data-testid="count-alerts"]')) ?? '', /^1/);
  assert.match(demo.stdout(), /──── healwatch inbox ────\n\[ALERT\] kube-scheduler/);
  demo.kill('SIGTERM');
  assert.equal(await demo.exited, 0);
});
