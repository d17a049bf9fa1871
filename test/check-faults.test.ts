import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitCodeOf, runCheck } from '../src/app/check.js';
import { parseConfig } from '../src/config/index.js';
import { refText, type Level } from '../src/domain/index.js';
import { startSimulator, type FaultRequest } from '../src/sim/index.js';

/**
 * `healwatch check` against the simulator with each fault: the right rule fires at the right level,
 * explains itself, and the exit code follows the highest level. The simulated clock runs the fault
 * for `afterMs` first, so a one-shot check judges each rule's `for` from the objects' own times.
 */
interface FaultCase {
  fault: FaultRequest;
  afterMs: number;
  rule: string;
  level: Level;
  /** The object the finding is about (`Kind/ns/name`), when it is fixed. */
  object?: string;
  /** Text the title must contain. */
  title?: RegExp;
}

const MIN = 60_000;
const CASES: FaultCase[] = [
  {
    fault: { name: 'crashloop', target: 'shop/cart' },
    afterMs: 6 * MIN,
    rule: 'crashloop',
    level: 'notice',
    object: 'Deployment/shop/cart',
  },
];

for (const c of CASES) {
  const name = `${c.fault.name}${c.fault.target ? ` ${c.fault.target}` : ''}`;
  test(`healwatch check with fault ${name}: ${c.rule} at ${c.level}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hw-check-faults-'));
    const sim = await startSimulator({ port: 0, clock: 'manual', seed: 'check-faults' });
    try {
      const kubeconfig = join(dir, 'config');
      writeFileSync(kubeconfig, sim.kubeconfig());
      sim.faults.start(c.fault);
      for (let t = 0; t < c.afterMs; t += 15_000) sim.advance(Math.min(15_000, c.afterMs - t));
      const report = await runCheck({ kubeconfig, config: parseConfig('{}', 'defaults'), timeoutMs: 30_000 });
      assert.deepEqual(report.errors, [], 'no rule threw');
      const found = report.firing.filter((f) => f.ruleId === c.rule);
      const summary = report.firing.map((f) => `${f.ruleId}:${f.level}:${refText(f.object)}: ${f.title}`);
      assert.ok(found.length > 0, `${c.rule} did not fire; firing: ${summary.join(' | ') || 'nothing'}`);
      const f = found.find((x) => !c.object || refText(x.object) === c.object);
      assert.ok(
        f,
        `${c.rule} fired about ${found.map((x) => refText(x.object)).join(', ')}, not ${c.object}`,
      );
      assert.equal(f.level, c.level, f.title);
      if (c.title) assert.match(f.title, c.title);
      assert.ok(f.loop.length > 10 && f.message.length > 20, 'it says which loop is broken and what it saw');
      assert.ok(f.evidence.length > 0, 'it shows evidence');
      assert.ok(f.nextSteps.length > 0, 'it says what to do next');
      const expected = report.firing.some((x) => x.level === 'alert') ? 2 : 1;
      assert.equal(exitCodeOf(report, 'notice'), expected);
      assert.equal(exitCodeOf(report, 'alert'), expected === 2 ? 2 : 0);
    } finally {
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
