import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a capture server received. */
export interface Captured {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The body parsed as JSON, when it is JSON. */
  readonly json: unknown;
  readonly at: number;
}

/** What the server answers: a status, headers and body. */
export interface Reply {
  /** Never answer (the request hangs until the server closes): a receiver that took it but did not acknowledge. */
  readonly hang?: boolean;
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/** A local HTTP receiver on 127.0.0.1 that records every request and answers as scripted. */
export interface CaptureServer {
  readonly url: string;
  readonly requests: Captured[];
  /** Answers the next requests with these replies, in order; after them, `fallback`. */
  script(...replies: Reply[]): void;
  /** The answer once the script is used up (default 200 with body `ok`). */
  fallback: Reply;
  /** Resolves when `count` requests have arrived (rejects after `timeoutMs`, default 10 s). */
  waitFor(count: number, timeoutMs?: number): Promise<Captured[]>;
  close(): Promise<void>;
}

/** Starts a capture server on 127.0.0.1 and a free port. */
export async function startCaptureServer(
  fallback: Reply = { status: 200, body: 'ok' },
): Promise<CaptureServer> {
  const requests: Captured[] = [];
  const queue: Reply[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const state = { fallback };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        json,
        at: Date.now(),
      });
      const reply = queue.shift() ?? state.fallback;
      if (reply.hang) {
        notify();
        return;
      }
      res.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
      res.end(reply.body ?? '');
      notify();
    });
  });
  const notify = (): void => {
    for (const w of [...waiters]) {
      if (requests.length >= w.count) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (...replies) => void queue.push(...replies),
    get fallback() {
      return state.fallback;
    },
    set fallback(r: Reply) {
      state.fallback = r;
    },
    waitFor(count, timeoutMs = 10_000) {
      if (requests.length >= count) return Promise.resolve(requests.slice());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`expected ${count} requests, got ${requests.length} within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(requests.slice());
          },
        });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
