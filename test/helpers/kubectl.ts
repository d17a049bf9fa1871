/**
 * Runs the real kubectl against a simulator: finds a binary (env KUBECTL, then the pinned gcloud
 * kubectl 1.32, then /usr/bin/kubectl), and runs it with an isolated HOME, a fresh discovery cache per
 * call (a stale cache would hide discovery bugs) and a hard timeout. Tests skip with `skip` when no
 * kubectl exists; kubectl is not installable from the reachable package repositories.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Google Cloud SDK keeps one real kubectl per minor version (`kubectl.1.27` … `kubectl.1.33`). */
export const GCLOUD_BIN = '/usr/lib/google-cloud-sdk/bin';

/** The gcloud dispatcher, which asks `/version` and runs the matching `kubectl.1.<minor>`. */
export const DISPATCHER = '/usr/bin/kubectl';

function findKubectl(): string | undefined {
  const candidates = [process.env.KUBECTL, `${GCLOUD_BIN}/kubectl.1.32`, DISPATCHER];
  return candidates.find((p): p is string => p !== undefined && p !== '' && existsSync(p));
}

/** The kubectl the tests run by default, or undefined when none is installed. */
export const KUBECTL: string | undefined = findKubectl();

/** A skip reason for node:test when there is no kubectl at all, else false. */
export const skip: string | false = KUBECTL
  ? false
  : `no kubectl binary: set KUBECTL, or install one at ${GCLOUD_BIN}/kubectl.1.32 or ${DISPATCHER}`;

/** The real kubectl binary of one minor version (`1.27`), if installed. */
export function kubectlVersion(minor: string): string | undefined {
  const path = `${GCLOUD_BIN}/kubectl.${minor}`;
  return existsSync(path) ? path : undefined;
}

/** Whether /usr/bin/kubectl is Google Cloud SDK's version dispatcher (it resolves into the SDK). */
export function isDispatcher(): boolean {
  if (!existsSync(DISPATCHER)) return false;
  return realpathSync(DISPATCHER).startsWith(`${GCLOUD_BIN}/`);
}

/** How one kubectl run ended. */
export interface KubectlResult {
  /** Exit code; -1 when the process was killed (timeout) or could not start. */
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Options of one run. */
export interface RunOptions {
  /** Kill kubectl after this many real milliseconds (default 30 s). */
  timeoutMs?: number;
  /** Another binary for this run (a pinned minor version, or the dispatcher). */
  binary?: string;
  /**
   * kubectl's `--request-timeout`; unset by default, because kubectl then adds `timeout=` to every
   * request and the request shapes would differ from a plain `kubectl get`.
   */
  requestTimeout?: string;
}

/**
 * A kubeconfig and a private HOME for running kubectl against one simulator. Runs never reject: tests
 * assert on the exit code and output, which also covers the commands that must fail.
 */
export class KubectlSession {
  readonly home: string;
  readonly kubeconfigPath: string;
  private runs = 0;

  constructor(
    kubeconfig: string,
    readonly binary: string | undefined = KUBECTL,
  ) {
    this.home = mkdtempSync(join(tmpdir(), 'healwatch-kubectl-'));
    this.kubeconfigPath = join(this.home, 'kubeconfig');
    writeFileSync(this.kubeconfigPath, kubeconfig, { mode: 0o600 });
  }

  /** Runs `kubectl <args>` against the simulator. */
  run(args: readonly string[], options: RunOptions = {}): Promise<KubectlResult> {
    const binary = options.binary ?? this.binary;
    if (!binary) return Promise.resolve({ code: -1, stdout: '', stderr: 'no kubectl', timedOut: false });
    const cacheDir = join(this.home, `cache-${++this.runs}`);
    const argv = [
      '--kubeconfig',
      this.kubeconfigPath,
      '--cache-dir',
      cacheDir,
      ...(options.requestTimeout ? [`--request-timeout=${options.requestTimeout}`] : []),
      ...args,
    ];
    return new Promise((resolve) => {
      execFile(
        binary,
        argv,
        {
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.home },
          timeout: options.timeoutMs ?? 30_000,
          killSignal: 'SIGKILL',
          maxBuffer: 16 * 1024 * 1024,
          encoding: 'utf8',
        },
        (error, stdout, stderr) => {
          if (!error) {
            resolve({ code: 0, stdout, stderr, timedOut: false });
            return;
          }
          const code = typeof error.code === 'number' ? error.code : -1;
          resolve({ code, stdout, stderr: stderr || error.message, timedOut: error.killed === true });
        },
      );
    });
  }

  /** Runs kubectl and returns stdout, failing with the whole story when the exit code is not 0. */
  async ok(args: readonly string[], options: RunOptions = {}): Promise<string> {
    const result = await this.run(args, options);
    if (result.code !== 0) {
      throw new Error(
        `kubectl ${args.join(' ')} exited ${result.code}${result.timedOut ? ' (timed out)' : ''}\n` +
          `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
      );
    }
    return result.stdout;
  }

  /** Removes the private HOME (kubeconfig and caches). */
  close(): void {
    rmSync(this.home, { recursive: true, force: true });
  }
}
