import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRunner } from '../src/app/runner.js';
import { Connection } from '../src/cluster/index.js';
import { loadConfig } from '../src/config/index.js';
import { startSimulator } from '../src/sim/index.js';

const until = async (what: string, check: () => boolean, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

test('runner: a changed config file is reloaded by itself; an invalid one is refused and the old one kept', async (t) => {
  const sim = await startSimulator({ seed: 'runner-reload', clock: 'manual', port: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'hw-runner-'));
  const file = join(dir, 'healwatch.yaml');
  const box = (name: string): string =>
    `notifications:\n  receivers:\n    - { name: ${name}, type: inbox, path: ${JSON.stringify(join(dir, `${name}.jsonl`))} }\n`;
  writeFileSync(file, box('first'));
  const logs: string[] = [];
  const runner = await startRunner({
    connection: Connection.fromString(sim.kubeconfig()),
    config: loadConfig(file),
    configFile: file,
    host: '127.0.0.1',
    port: 0,
    log: (line) => logs.push(line),
    watchConfigMs: 50,
    service: { tickMs: 0, probeIntervalMs: 0 },
  });
  t.after(async () => {
    await runner.stop();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await runner.started;
  const names = (): string[] => runner.notifications.receivers().map((r) => r.name);
  assert.deepEqual(names(), ['first']);

  writeFileSync(file, `${box('second')}# changed\n`);
  await until('the reload', () => names()[0] === 'second');
  assert.ok(
    logs.some((l) => l === `config file changed: reloaded ${file}`),
    logs.join('\n'),
  );

  writeFileSync(file, 'notifications:\n  receivers:\n    - { name: x, type: teams }\n');
  await until('the refusal', () =>
    logs.some((l) => l.startsWith('config file changed: ') && l.includes('unknown receiver type')),
  );
  assert.deepEqual(names(), ['second'], 'the running configuration stays');
  assert.ok(
    logs.some((l) =>
      /notifications\.receivers\[0\]\.type: unknown receiver type "teams".*keeping the previous configuration/.test(
        l,
      ),
    ),
    logs.join('\n'),
  );
  assert.equal(runner.reload('test'), false);
  assert.equal(runner.service.health().ready, true);
});
