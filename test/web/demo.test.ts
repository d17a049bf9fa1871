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
  const [, url] = await demo.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
  await demo.waitFor(/watching: 0 Alerts, 0 Notices firing/);
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(url!);
  await page.waitForSelector('[data-testid="cp-kube-scheduler"][data-colour="green"]');
  assert.match(demo.stdout(), /Open the dashboard: http:\/\/127\.0\.0\.1:\d+\//);

  const fault = await runCli(['sim', 'fault', 'scheduler-down'], { env });
  assert.equal(fault.code, 0, fault.stderr);
  await page.waitForSelector('[data-testid="cp-kube-scheduler"][data-colour="red"]', { timeout: 240_000 });
  assert.match(
    (await page.textContent('[data-testid="cp-kube-scheduler"]')) ?? '',
    /ALERT.*new pods stay Pending|new pods stay Pending.*ALERT/s,
  );
  await demo.waitFor(/notify inbox \(inbox\): sent ALERT kube-scheduler/, 30_000);
  assert.match(demo.stdout(), /──── healwatch inbox ────\n\[ALERT\] kube-scheduler/);
  demo.kill('SIGTERM');
  assert.equal(await demo.exited, 0);
});
