import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES } from '../src/domain/index.js';
import { FAULTS } from '../src/sim/index.js';

const read = (path: string): string => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

test('docs/errors.md documents exactly the codes of the error catalogue', () => {
  const documented = [...read('docs/errors.md').matchAll(/^\| `(HW_ERR_[A-Z_]+)`\s*\|/gm)].map((m) => m[1]);
  assert.deepEqual([...documented].sort(), Object.keys(ERROR_CODES).sort());
});

test('docs/simulator.md documents every fault, and no fault that does not exist', () => {
  const text = read('docs/simulator.md');
  const section = text.slice(text.indexOf('## Faults'), text.indexOf('## Scenario files'));
  const documented = [...section.matchAll(/^\| `([a-z0-9-]+)[ `]/gm)].map((m) => m[1]);
  assert.deepEqual([...documented].sort(), FAULTS.map((f) => f.name).sort());
});

test('the README lists every fault', () => {
  const readme = read('README.md');
  for (const f of FAULTS)
    assert.ok(readme.includes(`\`${f.name}`), `README.md does not mention fault ${f.name}`);
});

test('the CLI options in docs/simulator.md exist in `healwatch sim --help`', async () => {
  const { simCommand } = await import('../src/cli/commands/sim.js');
  const help = simCommand().helpInformation();
  const table = read('docs/simulator.md');
  const options = [...table.slice(0, table.indexOf('## The cluster')).matchAll(/^\| `(--[a-z-]+)/gm)].map(
    (m) => m[1]!,
  );
  assert.ok(options.length >= 10, 'the options table was not found');
  for (const o of options)
    assert.ok(help.includes(o), `${o} is documented but not an option of healwatch sim`);
});

test('docs/rules.md is generated from the rule registry and up to date', async () => {
  const { rulesDoc } = await import('../scripts/rules-doc.js');
  assert.equal(
    read('docs/rules.md'),
    rulesDoc(),
    'docs/rules.md is stale: run `node --import tsx scripts/rules-doc.ts`',
  );
});
