import { spawn } from 'node:child_process';
import type { TestContext } from 'node:test';
import { join } from 'node:path';

/** The repository root (tests run the CLI from source through tsx). */
export const ROOT = new URL('../..', import.meta.url).pathname;

/** What one CLI run printed and how it exited. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `healwatch ARGS` from source with extra environment variables; kills it after `timeoutMs`
 * (default 60 s) so a hanging command fails its test instead of the suite.
 */
export function runCli(
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A CLI process running in the background. */
export interface Spawned {
  stderr(): string;
  stdout(): string;
  /** Resolves with the first match of `pattern` in stderr (rejects after `ms` or when the process exits). */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts `healwatch ARGS` from source in the background; killed (SIGKILL) when the test ends. */
export function spawnCli(t: TestContext, args: readonly string[], env: Record<string, string> = {}): Spawned {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
  let stderr = '';
  let stdout = '';
  const waiters: (() => void)[] = [];
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of [...waiters]) w();
  });
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    stderr: () => stderr,
    stdout: () => stdout,
    exited,
    kill: (signal) => child.kill(signal),
    waitFor: (pattern, ms = 60_000) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const m = pattern.exec(stderr);
          if (m) resolve(m);
          return m !== null;
        };
        if (check()) return;
        const timer = setTimeout(() => reject(new Error(`no ${pattern} in stderr:\n${stderr}`)), ms);
        const waiter = (): void => {
          if (check()) {
            clearTimeout(timer);
            waiters.splice(waiters.indexOf(waiter), 1);
          }
        };
        waiters.push(waiter);
        void exited.then(() => {
          if (!check()) {
            clearTimeout(timer);
            reject(new Error(`exited without ${pattern}; stderr:\n${stderr}`));
          }
        });
      }),
  };
}
