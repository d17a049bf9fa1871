import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { HealwatchError } from '../../domain/index.js';

/** Where a running `healwatch sim` records how to reach it, for the `sim fault|heal|status` commands. */
export interface SimState {
  url: string;
  token?: string;
  /** PEM of the simulator's CA, when it serves TLS. */
  ca?: string;
  kubeconfig: string;
  pid: number;
}

/** The directory Healwatch keeps per-user files in (`$HEALWATCH_HOME`, default `~/.healwatch`). */
export function healwatchHome(): string {
  return process.env.HEALWATCH_HOME ?? join(homedir(), '.healwatch');
}

/** Path of the simulator state file. */
export function simStatePath(): string {
  return join(healwatchHome(), 'sim.json');
}

/** Records the running simulator (mode 600: it may hold the token). */
export function writeSimState(state: SimState): void {
  const path = simStatePath();
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** How to reach a simulator: `--server` and `--token` win over the state file. */
export function resolveSim(
  server: string | undefined,
  token: string | undefined,
): { url: string; token?: string; ca?: string } {
  if (server) {
    if (!/^https?:\/\/[^/]+/.test(server))
      throw new HealwatchError(
        'HW_ERR_USAGE',
        `--server must be a URL such as http://127.0.0.1:6443, got "${server}"`,
      );
    return { url: server.replace(/\/+$/, ''), ...(token ? { token } : {}) };
  }
  let text: string;
  try {
    text = readFileSync(simStatePath(), 'utf8');
  } catch {
    throw new HealwatchError(
      'HW_ERR_SIM_UNREACHABLE',
      `no running simulator found (${simStatePath()} is missing): start one with "healwatch sim", or pass --server URL`,
    );
  }
  const state = JSON.parse(text) as Partial<SimState>;
  if (typeof state.url !== 'string')
    throw new HealwatchError('HW_ERR_SIM_UNREACHABLE', `${simStatePath()}: field "url" is missing`);
  return {
    url: state.url,
    ...((token ?? state.token) ? { token: token ?? state.token } : {}),
    ...(typeof state.ca === 'string' ? { ca: state.ca } : {}),
  };
}

/** Sends one request to the simulator's control endpoint and parses the JSON answer. */
export function controlRequest(
  target: { url: string; token?: string; ca?: string },
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const url = new URL(path, target.url);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (payload) headers['Content-Type'] = 'application/json';
  if (target.token) headers.Authorization = `Bearer ${target.token}`;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method,
        headers,
        timeout: 10_000,
        ...(url.protocol === 'https:' && target.ca ? { ca: target.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out after 10 s')));
    req.on('error', (error) =>
      reject(
        new HealwatchError(
          'HW_ERR_SIM_UNREACHABLE',
          `cannot reach the simulator at ${target.url}: ${error.message}`,
        ),
      ),
    );
    req.end(payload);
  });
}
