#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with node's test runner (through tsx), so CI reads node's own
// summary. Node 20's `--test` has no glob support for .ts files, hence this finder.
// Usage: node scripts/run-tests.mjs [path-substring ...]   (filters the test files)
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.test.ts')) files.push(relative(root, path));
  }
}
for (const dir of ['src', 'test']) walk(join(root, dir));
const filters = process.argv.slice(2);
const selected = files.sort().filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (selected.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
// The dashboard's script is compiled TypeScript (web/src -> dist/web); the browser tests load it.
const web = spawnSync(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'web/tsconfig.json')],
  {
    stdio: 'inherit',
  },
);
if (web.status !== 0) process.exit(web.status ?? 1);
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', ...selected],
  { cwd: root, stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
