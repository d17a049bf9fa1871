import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Heartbeat } from '../../src/notify/heartbeat.js';
import { Secret } from '../../src/notify/secret.js';
import { startCaptureServer } from '../helpers/receiver.js';

test('heartbeat: pings the dead man’s switch every interval while ready, stops pinging while blind', async (t) => {
  const server = await startCaptureServer();
  t.after(() => server.close());
  let ready = true;
  const hb = new Heartbeat(new Secret(`${server.url}/ping/HB-CANARY-42`, 'inline'), 100, () => ready);
  t.after(() => hb.stop());
  hb.start();
  await server.waitFor(3, 5000);
  assert.ok(server.requests.every((r) => r.method === 'GET' && r.path === '/ping/HB-CANARY-42'));
  assert.equal(hb.health().lastError, undefined);
  assert.ok(hb.health().lastPingAt !== undefined);

  // Blind: no pings, so the switch fires.
  ready = false;
  await new Promise((r) => setTimeout(r, 50));
  const before = server.requests.length;
  await new Promise((r) => setTimeout(r, 400));
  assert.ok(server.requests.length <= before + 1, 'at most one ping already under way');
  assert.ok(hb.health().skipped >= 2);

  // Back, but the switch service fails: the error is kept without the URL.
  server.fallback = { status: 500, body: 'down' };
  ready = true;
  await server.waitFor(server.requests.length + 1, 5000);
  await new Promise((r) => setTimeout(r, 50));
  assert.match(hb.health().lastError ?? '', /HTTP 500/);
  assert.ok(!JSON.stringify(hb.health()).includes('HB-CANARY-42'));
  await hb.stop();
  const stopped = server.requests.length;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(server.requests.length, stopped, 'no ping after stop');
});
