import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { BUILTIN_RULES } from '../../src/rules/index.js';
import { loadCases, runCase } from '../helpers/rule-cases.js';

const BUILTIN = new URL('../../src/rules/builtin/', import.meta.url).pathname;

for (const rule of BUILTIN_RULES) {
  const dir = `${BUILTIN}${rule.id}/cases`;
  test(`rule ${rule.id} has a folder with its doc and at least one case`, () => {
    assert.ok(
      existsSync(`${BUILTIN}${rule.id}/README.md`),
      `src/rules/builtin/${rule.id}/README.md is missing`,
    );
    assert.ok(loadCases(dir).length > 0, `no cases in src/rules/builtin/${rule.id}/cases/`);
  });
  for (const c of loadCases(dir)) {
    test(`rule ${rule.id}: ${c.description}`, () => {
      assert.deepEqual(runCase(rule, c), []);
    });
  }
}
