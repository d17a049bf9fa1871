import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root (benchmarks run the CLI from source). */
const root = fileURLToPath(new URL('..', import.meta.url));

export interface SimProcess {
  child: ChildProcess;
  url: string;
  kubeconfig: string;
  command: string;
}

/** Starts `healwatch sim` in a child process and waits for its JSON line (URL and kubeconfig). */
export async function startSim(flags: string[], home: string): Promise<SimProcess> {
  const args = [
    '--max-semi-space-size=64',
    '--import',
    'tsx',
    'src/cli/main.ts',
    'sim',
    '--port',
    '0',
    ...flags,
    '-o',
    'json',
  ];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, HEALWATCH_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.resume();
  const info = await new Promise<{ url: string; kubeconfig: string }>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('the simulator did not start within 240 s')), 240_000);
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      try {
        const parsed = JSON.parse(out) as { url: string; kubeconfig: string };
        clearTimeout(timer);
        resolve(parsed);
      } catch {
        // not complete yet
      }
    });
    child.on('exit', (code) => reject(new Error(`the simulator exited (${code})`)));
  });
  return { child, ...info, command: `HEALWATCH_HOME=$TMP node ${args.join(' ')}` };
}

export async function stopSim(sim: SimProcess): Promise<void> {
  if (sim.child.exitCode !== null) return;
  const exited = new Promise((resolve) => sim.child.once('exit', resolve));
  sim.child.kill('SIGTERM');
  const timer = setTimeout(() => sim.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
