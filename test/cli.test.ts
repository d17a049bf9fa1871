import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultVersion } from '../src/sim/scenario/builtin.js';
import { ROOT, runCli, type CliResult } from './helpers/cli.js';

/** What the demo's /version reports today. */
const DEMO_VERSION = defaultVersion('kubeadm');

const MAIN = join(ROOT, 'src/cli/main.ts');

const run = (args: string[], env: Record<string, string>): Promise<CliResult> => runCli(args, { env });

test('--help lists the commands and exits 0; an unknown option exits 2', async () => {
  const help = await run(['--help'], {});
  assert.equal(help.code, 0);
  assert.match(help.stdout, /demo/);
  assert.match(help.stdout, /sim/);
  const bad = await run(['sim', '--no-such-option'], {});
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown option '--no-such-option'/);
  const badPort = await run(['sim', '--port', 'abc'], {});
  assert.equal(badPort.code, 2);
  assert.match(badPort.stderr, /--port must be an integer/);
});

test('sim subcommands without a running simulator say how to start one', async () => {
  const home = mkdtempSync(join(tmpdir(), 'hw-cli-'));
  try {
    const r = await run(['sim', 'faults'], { HEALWATCH_HOME: home });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /no running simulator found .* start one with "healwatch sim", or pass --server URL \[HW_ERR_SIM_UNREACHABLE\]/,
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('a malformed scenario file is refused with its file, line and field', async () => {
  const home = mkdtempSync(join(tmpdir(), 'hw-cli-'));
  try {
    const file = join(home, 'bad.yaml');
    writeFileSync(file, 'base: demo\ntimeline:\n  - at: 1m\n    fault: crash\n');
    const r = await run(['sim', '--port', '0', '--scenario', file], { HEALWATCH_HOME: home });
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`${file}:4: timeline[0].fault: unknown fault "crash"`), r.stderr);
    assert.match(r.stderr, /\[HW_ERR_SIM_SCENARIO_INVALID\]/);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

describe('a running `healwatch sim`', () => {
  let home: string;
  let sim: ChildProcess;
  let url: string;
  let simExit: Promise<number | null>;

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'hw-cli-'));
    sim = spawn(
      process.execPath,
      ['--import', 'tsx', MAIN, 'sim', '--port', '0', '--speed', '5', '-o', 'json'],
      {
        cwd: ROOT,
        env: { ...process.env, HEALWATCH_HOME: home },
      },
    );
    simExit = new Promise((resolve) => sim.on('close', resolve));
    let out = '';
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`simulator did not start: ${out}`)), 60_000);
      sim.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /"url": "([^"]+)"/.exec(out);
        if (m && out.trimEnd().endsWith('}')) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
  });

  after(() => {
    if (sim.exitCode === null) sim.kill('SIGKILL');
    rmSync(home, { recursive: true, force: true });
  });

  test('writes a kubeconfig and a state file that the subcommands use', () => {
    const state = JSON.parse(readFileSync(join(home, 'sim.json'), 'utf8')) as {
      url: string;
      kubeconfig: string;
    };
    assert.equal(state.url, url);
    assert.match(readFileSync(state.kubeconfig, 'utf8'), new RegExp(`server: ${url}`));
  });

  test('fault starts a fault that the API shows, faults lists it, heal ends it', async () => {
    const env = { HEALWATCH_HOME: home };
    const started = await run(['sim', 'fault', 'version', 'v1.29.4'], env);
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /started version v1\.29\.4/);
    const version = (await (await fetch(`${url}/version`)).json()) as { gitVersion: string; minor: string };
    assert.equal(version.gitVersion, 'v1.29.4');
    assert.equal(version.minor, '29');
    const list = await run(['sim', 'faults', '-o', 'json'], env);
    const body = JSON.parse(list.stdout) as {
      active: { name: string; target: string }[];
      catalog: { name: string }[];
    };
    assert.deepEqual(
      body.active.map((f) => `${f.name} ${f.target}`),
      ['version v1.29.4'],
    );
    assert.ok(body.catalog.some((f) => f.name === 'node-notready'));
    const status = await run(['sim', 'status', '-o', 'json'], env);
    assert.equal((JSON.parse(status.stdout) as { nodes: number }).nodes, 5);
    const healed = await run(['sim', 'heal'], env);
    assert.equal(healed.code, 0);
    const after = (await (await fetch(`${url}/version`)).json()) as { gitVersion: string };
    assert.equal(after.gitVersion, DEMO_VERSION);
  });

  test('unknown faults and bad targets are refused with what exists', async () => {
    const env = { HEALWATCH_HOME: home };
    const unknown = await run(['sim', 'fault', 'meteor'], env);
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.stderr,
      /unknown fault "meteor"; faults: scheduler-down, .*heal \[HW_ERR_SIM_FAULT_REJECTED\]/,
    );
    const badTarget = await run(['sim', 'fault', 'crashloop', 'shop/nope'], env);
    assert.equal(badTarget.code, 1);
    assert.match(badTarget.stderr, /deployment "shop\/nope" not found; deployments: .*shop\/cart/);
    const missing = await run(['sim', 'fault', 'node-notready'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /needs a target: node-notready NODE/);
    const stopNothing = await run(['sim', 'fault', 'crashloop', 'shop/cart', '--stop'], env);
    assert.equal(stopNothing.code, 1);
    assert.match(stopNothing.stderr, /no active fault "crashloop shop\/cart"/);
  });

  test('SIGTERM stops it cleanly and removes the state file', async () => {
    sim.kill('SIGTERM');
    assert.equal(await simExit, 0);
    assert.equal(existsSync(join(home, 'sim.json')), false);
  });
});
