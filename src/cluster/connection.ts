import { existsSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { HealwatchError } from '../domain/index.js';

/** How to reach a cluster: a kubeconfig file and context, or the in-cluster service account. */
export interface ConnectionOptions {
  /** A kubeconfig file; default `$KUBECONFIG` (merged), `~/.kube/config`, or in-cluster. */
  kubeconfig?: string;
  /** A context of the kubeconfig; default its current context. */
  context?: string;
  /** Use the in-cluster service account even if a kubeconfig exists. */
  inCluster?: boolean;
  /** Root under which the service account files are read (tests; default `/`). */
  serviceAccountRoot?: string;
}

/** One answered request: status, headers, and the body as a stream the caller consumes. */
export interface RawResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: IncomingMessage;
}

/** Options of one request. */
export interface RequestSpec {
  signal?: AbortSignal;
  /** Milliseconds until the response headers must have arrived. */
  headersTimeoutMs?: number;
  accept?: string;
}

/**
 * A connection to a cluster's API server: client-node's KubeConfig does the configuration and
 * authentication (tokens, client certificates, exec plugins, the rotated in-cluster token), and raw
 * requests go through node:http(s) with one keep-alive agent, so that list pages and watch streams are
 * read as streams. client-node's own request layer buffers whole responses and its watch cannot be
 * given an idle timeout, which is why the requests themselves are ours.
 */
export class Connection {
  readonly server: URL;
  /** Where the configuration came from (a file path, or "in-cluster"), for messages. */
  readonly source: string;
  readonly contextName: string;
  private agent: HttpsAgent | HttpAgent | undefined;
  private agentKey = '';
  /** Server time minus local time, from the last `Date` header (ms). */
  serverClockOffsetMs = 0;

  private constructor(
    readonly kubeConfig: KubeConfig,
    source: string,
  ) {
    this.source = source;
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster)
      throw new HealwatchError(
        'HW_ERR_KUBECONFIG_INVALID',
        `${source}: the current context names no cluster`,
      );
    try {
      this.server = new URL(cluster.server);
    } catch {
      throw new HealwatchError(
        'HW_ERR_KUBECONFIG_INVALID',
        `${source}: cluster "${cluster.name}" has an invalid server URL "${cluster.server}"`,
      );
    }
    if (this.server.protocol !== 'https:' && this.server.protocol !== 'http:') {
      throw new HealwatchError(
        'HW_ERR_KUBECONFIG_INVALID',
        `${source}: cluster "${cluster.name}" server must be http(s), got "${cluster.server}"`,
      );
    }
    this.contextName = kubeConfig.getCurrentContext();
  }

  /** Loads the configuration and checks it names a usable cluster; does not contact the server. */
  static load(options: ConnectionOptions = {}): Connection {
    const kc = new KubeConfig();
    let source: string;
    try {
      if (options.inCluster) {
        source = 'in-cluster service account';
        kc.loadFromCluster(options.serviceAccountRoot);
      } else if (options.kubeconfig) {
        if (!existsSync(options.kubeconfig)) {
          throw new HealwatchError(
            'HW_ERR_KUBECONFIG_INVALID',
            `kubeconfig ${options.kubeconfig}: no such file`,
          );
        }
        source = options.kubeconfig;
        kc.loadFromFile(options.kubeconfig);
      } else if (process.env.KUBECONFIG) {
        source = process.env.KUBECONFIG;
        kc.loadFromDefault();
      } else if (existsSync(join(homedir(), '.kube', 'config'))) {
        source = join(homedir(), '.kube', 'config');
        kc.loadFromFile(source);
      } else if (process.env.KUBERNETES_SERVICE_HOST) {
        // In a pod: the service account token file, which the kubelet rotates; client-node re-reads it.
        source = 'in-cluster service account';
        kc.loadFromCluster(options.serviceAccountRoot);
      } else {
        throw new HealwatchError(
          'HW_ERR_KUBECONFIG_INVALID',
          'no kubeconfig: pass --kubeconfig FILE, set KUBECONFIG, create ~/.kube/config, or run inside a cluster',
        );
      }
    } catch (error) {
      if (error instanceof HealwatchError) throw error;
      throw new HealwatchError(
        'HW_ERR_KUBECONFIG_INVALID',
        `kubeconfig ${options.kubeconfig ?? process.env.KUBECONFIG ?? ''}: ${(error as Error).message.split('\n')[0]}`,
      );
    }
    if (options.context) {
      const names = kc.getContexts().map((c) => c.name);
      if (!names.includes(options.context)) {
        throw new HealwatchError(
          'HW_ERR_KUBECONFIG_INVALID',
          `${source}: context "${options.context}" not found; contexts: ${names.join(', ') || 'none'}`,
        );
      }
      kc.setCurrentContext(options.context);
    }
    if (!kc.getCurrentContext() && kc.getContexts().length === 0 && !kc.getCurrentCluster()) {
      throw new HealwatchError('HW_ERR_KUBECONFIG_INVALID', `${source}: no contexts and no current context`);
    }
    return new Connection(kc, source);
  }

  /** A connection from kubeconfig text (tests and the demo). */
  static fromString(text: string, source = 'kubeconfig'): Connection {
    const kc = new KubeConfig();
    try {
      kc.loadFromString(text);
    } catch (error) {
      throw new HealwatchError(
        'HW_ERR_KUBECONFIG_INVALID',
        `${source}: ${(error as Error).message.split('\n')[0]}`,
      );
    }
    return new Connection(kc, source);
  }

  /** The client certificate of the current user (PEM), if it authenticates with one. */
  clientCertificatePem(): string | undefined {
    const user = this.kubeConfig.getCurrentUser();
    if (!user) return undefined;
    if (user.certData) return Buffer.from(user.certData, 'base64').toString('utf8');
    return undefined;
  }

  /** The user's client certificate file, when given as a path instead of inline data. */
  clientCertificateFile(): string | undefined {
    return this.kubeConfig.getCurrentUser()?.certFile || undefined;
  }

  /**
   * Sends a GET and resolves once the response headers arrive; the caller reads (or destroys) the
   * body. Authentication is refreshed on every request (exec plugins and rotated tokens).
   */
  async get(path: string, spec: RequestSpec = {}): Promise<RawResponse> {
    const opts: RequestOptions = { method: 'GET', headers: {} };
    await this.kubeConfig.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = {
      Accept: spec.accept ?? 'application/json',
      'User-Agent': 'healwatch',
    };
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === 'string') headers[k] = v;
    if (opts.auth) headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    const url = new URL(path, this.server);
    const isHttps = url.protocol === 'https:';
    const agent = this.agentFor(opts, isHttps);
    const send = isHttps ? httpsRequest : httpRequest;
    return new Promise<RawResponse>((resolve, reject) => {
      const req = send(
        url,
        { method: 'GET', headers, agent, ...(spec.signal ? { signal: spec.signal } : {}) },
        (res) => {
          clearTimeout(timer);
          const date = res.headers.date ? Date.parse(res.headers.date) : Number.NaN;
          if (!Number.isNaN(date)) this.serverClockOffsetMs = date - Date.now();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
        },
      );
      const timer = spec.headersTimeoutMs
        ? setTimeout(
            () => req.destroy(new Error(`no response within ${spec.headersTimeoutMs} ms`)),
            spec.headersTimeoutMs,
          )
        : undefined;
      req.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      req.end();
    });
  }

  /**
   * GETs a JSON document whole (small answers only: discovery, version, one object). The headers
   * timeout also bounds every wait for the next chunk of the body, which may otherwise stall forever.
   */
  async getJson<T>(
    path: string,
    spec: RequestSpec = {},
  ): Promise<{ status: number; body: T; headers: IncomingMessage['headers'] }> {
    const res = await this.get(path, spec);
    const text = await readText(res.body, 16 * 1024 * 1024, spec.headersTimeoutMs);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: res.status, body: body as T, headers: res.headers };
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  private agentFor(opts: RequestOptions, isHttps: boolean): HttpsAgent | HttpAgent {
    // One keep-alive agent per TLS material: client-node makes a new agent per call, which would open
    // a new connection for every list page.
    const tls = { ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized };
    const key = JSON.stringify([isHttps, tls.ca, tls.cert, tls.key, tls.rejectUnauthorized]);
    if (this.agent && key === this.agentKey) return this.agent;
    this.agent?.destroy();
    this.agentKey = key;
    this.agent = isHttps
      ? new HttpsAgent({
          keepAlive: true,
          maxSockets: 32,
          ...(tls.ca ? { ca: tls.ca } : {}),
          ...(tls.cert ? { cert: tls.cert } : {}),
          ...(tls.key ? { key: tls.key } : {}),
          ...(tls.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
        })
      : new HttpAgent({ keepAlive: true, maxSockets: 32 });
    return this.agent;
  }
}

/**
 * Reads a whole (bounded) body as text. With `idleMs`, a body that sends no byte for that long is
 * abandoned (a stalled connection would otherwise hold the caller forever).
 */
export async function readText(body: IncomingMessage, maxBytes: number, idleMs?: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  let idle: NodeJS.Timeout | undefined;
  const armIdle = (): void => {
    if (idleMs === undefined) return;
    clearTimeout(idle);
    idle = setTimeout(() => body.destroy(new Error(`no data for ${idleMs} ms`)), idleMs);
  };
  armIdle();
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      armIdle();
      size += chunk.length;
      if (size > maxBytes) {
        body.destroy();
        throw new Error(`response larger than ${maxBytes} bytes`);
      }
      chunks.push(chunk);
    }
  } finally {
    clearTimeout(idle);
  }
  return Buffer.concat(chunks).toString('utf8');
}
