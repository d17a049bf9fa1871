import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { randomUUID } from 'node:crypto';
import type { KObject } from '../model.js';
import {
  aggregatedDiscovery,
  discoveryContentType,
  legacyCoreVersions,
  legacyGroupDocument,
  legacyGroupList,
  legacyResourceList,
  negotiateDiscovery,
  parseAccept,
} from './discovery.js';
import {
  compileFilter,
  serveList,
  serveWatch,
  renderObject,
  WatchRegistry,
  type CollectionContext,
  type Rendering,
} from './list-watch.js';
import { apiserverMetricsText, type DeprecatedApiRequest } from './metrics.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import { printerFor } from './printers.js';
import { decodeDeleteOptions } from './protobuf.js';
import { parseListQuery } from './query.js';
import { findResource, storageOf, type ResourceType } from './resources.js';
import { alreadyExists, ApiError, badRequest, notFound } from './status.js';
import { StoreConflictError, type Store } from './store.js';
import { withKind, type IncludeObject } from './table.js';
import { isoSeconds } from '../time.js';
import type { ServingCertificate } from './tls.js';

/** One health check of `/livez`, `/readyz` or `/healthz`. */
export interface HealthCheck {
  name: string;
  isHealthy: boolean;
  /** Why it fails, shown on the per-check path. */
  message?: string;
}

/** The answer of a node proxy or other raw endpoint. */
export interface RawResponse {
  status: number;
  contentType: string;
  body: string;
}

/** Delete options from the query string or a `DeleteOptions` body. */
export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
}

/** What the API server needs from the simulated cluster behind it. */
export interface ApiBackend {
  readonly store: Store;
  /** Simulated now, in epoch milliseconds. */
  now(): number;
  /** The `/version` document. */
  version(): Record<string, string>;
  /** The checks of one health endpoint. */
  healthChecks(endpoint: 'livez' | 'readyz' | 'healthz'): HealthCheck[];
  /** Defaults and validates an object created through the API; throws ApiError when invalid. */
  admit(resource: ResourceType, object: KObject): KObject;
  /**
   * Deletes an object through the API: graceful deletion for pods (the object stays, terminating), and
   * cascading deletion of dependents. Returns the object when it still exists, undefined when it is gone.
   */
  remove(resource: ResourceType, object: KObject, options: DeleteOptions): KObject | undefined;
  /** `pods/log`; throws ApiError (400 for a waiting container, and so on). */
  podLog(namespace: string, name: string, query: URLSearchParams): string;
  /** `nodes/NAME/proxy/PATH` (the kubelet's endpoints). */
  nodeProxy(node: string, path: string, query: URLSearchParams): RawResponse;
  /** `metrics.k8s.io` objects of a virtual resource; throws 503 when metrics-server is not serving. */
  metrics(resource: ResourceType, namespace: string | undefined): KObject[];
  /** The simulator's own control endpoint, `/sim/v1/...`. */
  control(method: string, path: string, body: unknown): Promise<RawResponse> | RawResponse;
}

/** Faults of the API server itself, switched by the fault engine. */
export interface ApiFaults {
  /** Connections are dropped without an answer (the API server is down). */
  isDown: boolean;
  /** Every answer is delayed this many real milliseconds. */
  slowMs: number;
  /** Every request is answered 429 with Retry-After (API priority and fairness rejecting). */
  isThrottling: boolean;
}

/** Options of the API server. */
export interface ApiServerOptions {
  host: string;
  port: number;
  /** Serve HTTPS with this certificate (kubectl only sends tokens over TLS). */
  certificate?: ServingCertificate;
  /** With TLS: client certificates signed by this CA authenticate (as kubeadm's admin.conf does). */
  clientCa?: string;
  /** Require `Authorization: Bearer <token>` on everything but health and version. */
  token?: string;
  /** Cap on watch duration in real seconds (tests use a few seconds to bound `kubectl get -w`). */
  maxWatchSeconds?: number;
  /** Real milliseconds between watch bookmarks (default 60 s, as the real server). */
  bookmarkIntervalMs?: number;
}

/** One request as the simulator logged it (tests assert on what real clients asked for). */
export interface RequestRecord {
  method: string;
  path: string;
  query: string;
  accept: string;
  userAgent: string;
  status: number;
}

const MAX_BODY_BYTES = 3 * 1024 * 1024;
const REQUEST_LOG_SIZE = 2000;
const OPEN_PATHS = ['/version', '/healthz', '/livez', '/readyz'];

/**
 * The simulated kube-apiserver: routes HTTP requests to discovery, health, list/get/watch, writes,
 * subresources and the simulator's control endpoint, with the wire shapes real clients expect.
 */
export class ApiServer {
  readonly watches = new WatchRegistry();
  readonly faults: ApiFaults = { isDown: false, slowMs: 0, isThrottling: false };
  /** Deprecated APIs clients requested: `/metrics` reports them (the `deprecated-api` fault adds one). */
  readonly deprecatedApis: DeprecatedApiRequest[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly log: RequestRecord[] = [];
  private readonly ctx: CollectionContext;
  private certificate: ServingCertificate | undefined;
  private address = '';

  constructor(
    private readonly backend: ApiBackend,
    private readonly options: ApiServerOptions,
  ) {
    this.certificate = options.certificate;
    this.ctx = {
      store: backend.store,
      now: () => backend.now(),
      realNow: () => performance.now(),
      maxWatchSeconds: options.maxWatchSeconds,
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
      maxWatchBufferBytes: 64 * 1024 * 1024,
      watches: this.watches,
    };
  }

  /** Starts listening; resolves with the bound port. */
  async listen(): Promise<number> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.handle(req, res).catch((error: unknown) => this.fail(res, error));
    };
    const server = this.certificate
      ? createHttpsServer(
          {
            cert: this.certificate.cert,
            key: this.certificate.key,
            // Ask for a client certificate but accept connections without one: tokens work too.
            ...(this.options.clientCa
              ? { ca: this.options.clientCa, requestCert: true, rejectUnauthorized: false }
              : {}),
          },
          handler,
        )
      : createHttpServer(handler);
    server.keepAliveTimeout = 60_000;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('secureConnection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;
    this.address = `${this.options.host}:${port}`;
    return port;
  }

  /** The base URL clients use. */
  get url(): string {
    return `${this.certificate ? 'https' : 'http'}://${this.address}`;
  }

  /** The serving certificate in use, if TLS is on. */
  get servingCertificate(): ServingCertificate | undefined {
    return this.certificate;
  }

  /** Swaps the serving certificate without restarting (new connections see the new one). */
  setCertificate(certificate: ServingCertificate): void {
    if (!this.certificate || !this.server) throw new Error('the simulator is not serving TLS');
    this.certificate = certificate;
    (this.server as unknown as { setSecureContext(o: { cert: string; key: string }): void }).setSecureContext(
      {
        cert: certificate.cert,
        key: certificate.key,
      },
    );
  }

  /** Drops every open connection (watches included), as a crashing API server would. */
  dropConnections(): void {
    for (const w of this.watches.list()) w.destroy();
    for (const socket of this.sockets) socket.destroy();
  }

  /** The most recent requests, oldest first. */
  requestLog(): readonly RequestRecord[] {
    return this.log;
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    for (const w of this.watches.list()) w.close();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
  }

  private record(req: IncomingMessage, url: URL, status: number): void {
    this.log.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search.replace(/^\?/, ''),
      accept: req.headers.accept ?? '',
      userAgent: req.headers['user-agent'] ?? '',
      status,
    });
    if (this.log.length > REQUEST_LOG_SIZE) this.log.splice(0, this.log.length - REQUEST_LOG_SIZE);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const isControl = path.startsWith('/sim/');
    res.on('finish', () => this.record(req, url, res.statusCode));
    if (!isControl) {
      if (this.faults.isDown) {
        // A down API server answers nothing; the client sees a reset connection.
        req.socket.destroy();
        return;
      }
      if (this.faults.slowMs > 0) await new Promise((r) => setTimeout(r, this.faults.slowMs));
    }
    res.setHeader('Date', new Date(this.backend.now()).toUTCString());
    res.setHeader('Audit-Id', randomUUID());
    res.setHeader('Cache-Control', 'no-cache, private');
    if (!this.isAuthorized(req, path)) {
      this.sendError(res, new ApiError(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    if (
      !isControl &&
      this.faults.isThrottling &&
      !OPEN_PATHS.some((p) => path === p || path.startsWith(`${p}/`))
    ) {
      res.setHeader('Retry-After', '1');
      this.sendError(
        res,
        new ApiError(429, 'TooManyRequests', 'Too many requests, please try again later.', {
          retryAfterSeconds: 1,
        }),
      );
      return;
    }
    res.setHeader('X-Kubernetes-Pf-Flowschema-Uid', 'b0dc0b4c-5bd4-4a9c-9f2e-0a6c8f2c7c11');
    res.setHeader('X-Kubernetes-Pf-Prioritylevel-Uid', '5e6f6c2e-7d62-4e8e-8c3a-3b1c2a9f9d10');

    if (isControl) {
      const body =
        req.method === 'GET' || req.method === 'DELETE' ? undefined : await readJsonBody(req, true);
      const answer = await this.backend.control(req.method ?? 'GET', path, body);
      res.writeHead(answer.status, { 'Content-Type': answer.contentType });
      res.end(answer.body);
      return;
    }
    if (path === '/version') {
      this.sendJson(res, 200, this.backend.version());
      return;
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(apiserverMetricsText(this.backend.version().gitVersion ?? '', this.deprecatedApis));
      return;
    }
    if (path === '/api' || path === '/apis') {
      this.serveDiscoveryRoot(req, res, path);
      return;
    }
    const healthMatch = /^\/(livez|readyz|healthz)(?:\/(.+))?$/.exec(path);
    if (healthMatch) {
      this.serveHealth(
        res,
        healthMatch[1] as 'livez' | 'readyz' | 'healthz',
        healthMatch[2],
        url.searchParams,
      );
      return;
    }
    const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (segments[0] === 'api' && segments[1] === 'v1' && segments.length === 2) {
      this.sendJson(res, 200, legacyResourceList('', 'v1'));
      return;
    }
    if (segments[0] === 'apis' && segments.length === 2) {
      const doc = legacyGroupDocument(segments[1]!);
      if (!doc) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      this.sendJson(res, 200, doc);
      return;
    }
    if (segments[0] === 'apis' && segments.length === 3) {
      const doc = legacyResourceList(segments[1]!, segments[2]!);
      if (!doc) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      this.sendJson(res, 200, doc);
      return;
    }
    let group: string;
    let version: string;
    let rest: string[];
    if (segments[0] === 'api' && segments[1] === 'v1') {
      group = '';
      version = 'v1';
      rest = segments.slice(2);
    } else if (segments[0] === 'apis' && segments.length >= 4) {
      group = segments[1]!;
      version = segments[2]!;
      rest = segments.slice(3);
    } else {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    await this.serveResource(req, res, url, group, version, rest);
  }

  private isAuthorized(req: IncomingMessage, path: string): boolean {
    const token = this.options.token;
    if (!token) return true;
    const header = req.headers.authorization ?? '';
    if (header === `Bearer ${token}`) return true;
    // A client certificate the cluster CA signed authenticates as well (x509 authentication).
    if ((req.socket as TLSSocket).authorized === true && this.options.clientCa !== undefined) return true;
    // Bad credentials are an error, never anonymous access (upstream `union.NewFailOnError`): 401 everywhere.
    if (header !== '') return false;
    // Health and version are readable by anyone, as the default system:public-info-viewer role allows.
    return OPEN_PATHS.some((p) => path === p || path.startsWith(`${p}/`));
  }

  private serveDiscoveryRoot(req: IncomingMessage, res: ServerResponse, path: '/api' | '/apis'): void {
    const format = negotiateDiscovery(req.headers.accept);
    if (!format)
      throw new ApiError(
        406,
        'NotAcceptable',
        `only the following media types are accepted: application/json, application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList, application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList`,
      );
    let body: unknown;
    let contentType = 'application/json';
    if (format === 'legacy') {
      body = path === '/api' ? legacyCoreVersions(this.address) : legacyGroupList();
    } else {
      body = aggregatedDiscovery(path, format);
      contentType = discoveryContentType(format);
    }
    const text = JSON.stringify(body);
    res.writeHead(200, {
      'Content-Type': contentType,
      Vary: 'Accept',
      ETag: `"${hashText(text)}"`,
    });
    res.end(text);
  }

  private serveHealth(
    res: ServerResponse,
    endpoint: 'livez' | 'readyz' | 'healthz',
    check: string | undefined,
    params: URLSearchParams,
  ): void {
    const checks = this.backend.healthChecks(endpoint);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (check !== undefined) {
      const found = checks.find((c) => c.name === check);
      if (!found) {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('404 page not found\n');
        return;
      }
      res.writeHead(found.isHealthy ? 200 : 500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(found.isHealthy ? 'ok' : `internal server error: ${found.message ?? 'check failed'}\n`);
      return;
    }
    const excluded = new Set(params.getAll('exclude'));
    const isHealthy = checks.every((c) => c.isHealthy || excluded.has(c.name));
    const isVerbose = params.has('verbose');
    res.writeHead(isHealthy ? 200 : 500, { 'Content-Type': 'text/plain; charset=utf-8' });
    if (isHealthy && !isVerbose) {
      res.end('ok');
      return;
    }
    // A failing check always answers verbosely, with the reason withheld as the real server does.
    const lines = checks.map((c) =>
      excluded.has(c.name)
        ? `[+]${c.name} excluded: ok`
        : c.isHealthy
          ? `[+]${c.name} ok`
          : `[-]${c.name} failed: reason withheld`,
    );
    lines.push(isHealthy ? `${endpoint} check passed` : `${endpoint} check failed`);
    res.end(`${lines.join('\n')}\n`);
  }

  private rendering(req: IncomingMessage, url: URL, resource: ResourceType): Rendering {
    const media = parseAccept(req.headers.accept);
    for (const m of media) {
      if (m.type === 'application/json' && m.params.as === 'Table' && m.params.g === 'meta.k8s.io') {
        if (resource.isVirtual) continue;
        const include = (url.searchParams.get('includeObject') ?? 'Metadata') as IncludeObject;
        if (!['None', 'Metadata', 'Object'].includes(include))
          throw badRequest(`includeObject: Unsupported value: "${include}"`);
        return { kind: 'table', printer: printerFor(resource), include };
      }
      if (m.type === 'application/json' && m.params.as !== undefined) continue; // PartialObjectMetadata etc.
      if (m.type === 'application/json' || m.type === '*/*' || m.type === 'application/*')
        return { kind: 'json' };
      // protobuf and yaml are skipped: clients list JSON as a fallback.
    }
    throw new ApiError(406, 'NotAcceptable', 'only the following media types are accepted: application/json');
  }

  private async serveResource(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    group: string,
    version: string,
    rest: string[],
  ): Promise<void> {
    let namespace: string | undefined;
    let resource: ResourceType | undefined;
    let name: string | undefined;
    let sub: string[] = [];
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      const candidate = findResource(group, version, rest[2]!);
      if (candidate?.namespaced) {
        namespace = rest[1];
        resource = candidate;
        name = rest[3];
        sub = rest.slice(4);
      }
    }
    if (!resource) {
      resource = findResource(group, version, rest[0] ?? '');
      if (!resource || (resource.namespaced && rest.length > 1 && rest[0] !== 'namespaces')) {
        if (resource?.namespaced && rest.length === 1) {
          // A namespaced resource across all namespaces: /api/v1/pods.
        } else {
          throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
        }
      }
      name = rest[1];
      sub = rest.slice(2);
    }
    const method = req.method ?? 'GET';
    if (name === undefined) {
      await this.serveCollection(req, res, url, resource, namespace, method);
      return;
    }
    if (resource.isVirtual) {
      if (method !== 'GET') throw methodNotAllowed();
      const found = this.backend.metrics(resource, namespace).find((o) => o.metadata.name === name);
      if (!found) throw notFound(resource.plural, resource.group, name);
      this.sendJson(res, 200, withKind(found, resource));
      return;
    }
    if (sub.length > 0) {
      await this.serveSubresource(req, res, url, resource, namespace, name, sub, method);
      return;
    }
    await this.serveObject(req, res, url, resource, namespace, name, method);
  }

  private async serveCollection(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    resource: ResourceType,
    namespace: string | undefined,
    method: string,
  ): Promise<void> {
    if (resource.isVirtual) {
      if (method !== 'GET') throw methodNotAllowed();
      if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1')
        throw methodNotAllowed();
      // metrics-server honours label and field selectors (`kubectl top pod -l app=web`).
      const query = parseListQuery(url.searchParams);
      const filter = compileFilter({ resource, namespace, query, rendering: { kind: 'json' } });
      const items = this.backend.metrics(resource, namespace).filter((o) => filter.matches(o));
      const apiVersion = `${resource.group}/${resource.version}`;
      this.sendJson(res, 200, { kind: `${resource.kind}List`, apiVersion, metadata: {}, items });
      return;
    }
    if (method === 'GET') {
      const query = parseListQuery(url.searchParams);
      const request = { resource, namespace, query, rendering: this.rendering(req, url, resource) };
      if (query.isWatch) serveWatch(this.ctx, request, req, res);
      else serveList(this.ctx, request, res);
      return;
    }
    if (method === 'POST') {
      const body = await readJsonBody(req);
      const created = this.create(resource, namespace, body, url.searchParams.get('dryRun') === 'All');
      this.sendJson(res, 201, withKind(created, resource));
      return;
    }
    if (method === 'DELETE') {
      const options = deleteOptions(url.searchParams, await readDeleteBody(req));
      const query = parseListQuery(url.searchParams);
      const request = {
        resource,
        namespace,
        query: { ...query, limit: undefined, continueToken: undefined },
        rendering: { kind: 'json' as const },
      };
      // Delete what a list with the same selectors returns, then answer that list.
      const storage = storageOf(resource);
      const victims: KObject[] = [];
      const collector = new CollectingResponse();
      serveList(this.ctx, request, collector as unknown as ServerResponse);
      const listed = JSON.parse(collector.body) as { items: KObject[] };
      for (const item of listed.items) {
        const stored = this.backend.store.get(storage, item.metadata.namespace, item.metadata.name);
        if (!stored) continue;
        const remaining = this.backend.remove(resource, stored, options);
        victims.push(remaining ?? stored);
      }
      this.sendJson(res, 200, {
        kind: `${resource.kind}List`,
        apiVersion: resource.group ? `${resource.group}/${resource.version}` : resource.version,
        metadata: { resourceVersion: String(this.backend.store.resourceVersion) },
        items: victims,
      });
      return;
    }
    throw methodNotAllowed();
  }

  private create(
    resource: ResourceType,
    namespace: string | undefined,
    body: unknown,
    isDryRun: boolean,
  ): KObject {
    const object = checkBody(resource, body);
    const meta = object.metadata;
    if (resource.namespaced) {
      if (namespace === undefined) throw methodNotAllowed();
      if (meta.namespace !== undefined && meta.namespace !== namespace) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      if (!this.backend.store.get('namespaces', undefined, namespace))
        throw notFound('namespaces', '', namespace);
    }
    const store = this.backend.store;
    let name = meta.name;
    if (!name) {
      if (!meta.generateName) {
        throw new ApiError(
          422,
          'Invalid',
          `${resource.kind} "" is invalid: metadata.name: Required value: name or generateName is required`,
        );
      }
      name = `${meta.generateName}${randomSuffix()}`;
    }
    const prepared: KObject = {
      ...object,
      metadata: {
        ...meta,
        name,
        ...(resource.namespaced && namespace !== undefined ? { namespace } : {}),
        uid: randomUUID(),
        resourceVersion: '',
        creationTimestamp: isoSeconds(this.backend.now()),
        ...('spec' in object ? { generation: 1 } : {}),
      },
    };
    delete (prepared as { kind?: string }).kind;
    delete (prepared as { apiVersion?: string }).apiVersion;
    const admitted = this.backend.admit(resource, prepared);
    if (isDryRun) return admitted;
    try {
      return store.create(storageOf(resource), admitted);
    } catch (error) {
      if (error instanceof StoreConflictError) throw alreadyExists(resource.plural, resource.group, name);
      throw error;
    }
  }

  private getStored(resource: ResourceType, namespace: string | undefined, name: string): KObject {
    const stored = this.backend.store.get(storageOf(resource), namespace, name);
    if (!stored) throw notFound(resource.plural, resource.group, name);
    return stored;
  }

  private async serveObject(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    resource: ResourceType,
    namespace: string | undefined,
    name: string,
    method: string,
  ): Promise<void> {
    if (method === 'GET') {
      const stored = this.getStored(resource, namespace, name);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(renderObject(this.ctx, resource, this.rendering(req, url, resource), stored));
      return;
    }
    if (method === 'DELETE') {
      const stored = this.getStored(resource, namespace, name);
      const options = deleteOptions(url.searchParams, await readDeleteBody(req));
      const remaining = this.backend.remove(resource, stored, options);
      if (remaining) {
        this.sendJson(res, 200, withKind(remaining, resource));
      } else {
        this.sendJson(res, 200, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          details: {
            name,
            ...(resource.group ? { group: resource.group } : {}),
            kind: resource.plural,
            uid: stored.metadata.uid,
          },
        });
      }
      return;
    }
    if (method === 'PUT' || method === 'PATCH') {
      const updated = await this.write(req, resource, namespace, name, method, 'main');
      this.sendJson(res, 200, withKind(updated, resource));
      return;
    }
    throw methodNotAllowed();
  }

  /** PUT or PATCH of an object, its status, or (through `scale`) its replicas. */
  private async write(
    req: IncomingMessage,
    resource: ResourceType,
    namespace: string | undefined,
    name: string,
    method: 'PUT' | 'PATCH',
    part: 'main' | 'status',
  ): Promise<KObject> {
    const storage = storageOf(resource);
    const current = this.getStored(resource, namespace, name);
    const body = await readJsonBody(req);
    let next: KObject;
    if (method === 'PUT') {
      next = checkBody(resource, body);
      if (next.metadata.name !== name)
        throw badRequest('the name of the object does not match the name on the URL');
      const rv = next.metadata.resourceVersion;
      if (rv && rv !== current.metadata.resourceVersion) throw conflict(resource, name);
    } else {
      next = applyPatch(req.headers['content-type'] ?? '', current, body) as KObject;
      if (!next || typeof next !== 'object' || typeof next.metadata !== 'object')
        throw badRequest('patch produced an invalid object');
    }
    const merged = mergeWrite(current, next, part);
    const result = this.backend.store.update(storage, merged);
    return result;
  }

  private async serveSubresource(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    resource: ResourceType,
    namespace: string | undefined,
    name: string,
    sub: string[],
    method: string,
  ): Promise<void> {
    const [kind, ...tail] = sub as [string, ...string[]];
    const declared = resource.subresources?.find((s) => s.name === kind);
    if (!declared) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    if (kind === 'log') {
      if (method !== 'GET') throw methodNotAllowed();
      const text = this.backend.podLog(namespace ?? '', name, url.searchParams);
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(text);
      return;
    }
    if (kind === 'proxy') {
      this.getStored(resource, namespace, name.replace(/:\d+$/, ''));
      const answer = this.backend.nodeProxy(name.replace(/:\d+$/, ''), tail.join('/'), url.searchParams);
      res.writeHead(answer.status, { 'Content-Type': answer.contentType });
      res.end(answer.body);
      return;
    }
    if (kind === 'status') {
      if (method === 'GET') {
        this.sendJson(res, 200, withKind(this.getStored(resource, namespace, name), resource));
        return;
      }
      if (method !== 'PUT' && method !== 'PATCH') throw methodNotAllowed();
      const updated = await this.write(req, resource, namespace, name, method, 'status');
      this.sendJson(res, 200, withKind(updated, resource));
      return;
    }
    if (kind === 'scale') {
      const current = this.getStored(resource, namespace, name) as KObject & {
        spec: { replicas?: number; selector?: unknown };
        status?: { replicas?: number };
      };
      if (method === 'GET') {
        this.sendJson(res, 200, scaleOf(current));
        return;
      }
      if (method !== 'PUT' && method !== 'PATCH') throw methodNotAllowed();
      const body = await readJsonBody(req);
      const scale =
        method === 'PUT' ? body : applyPatch(req.headers['content-type'] ?? '', scaleOf(current), body);
      const replicas = (scale as { spec?: { replicas?: unknown } })?.spec?.replicas;
      if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
        throw new ApiError(
          422,
          'Invalid',
          `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
        );
      }
      const updated = this.backend.store.update(storageOf(resource), {
        ...current,
        metadata: {
          ...current.metadata,
          generation: (current.metadata.generation ?? 1) + (replicas === current.spec.replicas ? 0 : 1),
        },
        spec: { ...current.spec, replicas },
      });
      this.sendJson(res, 200, scaleOf(updated));
      return;
    }
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  }

  private sendJson(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(text);
  }

  private sendError(res: ServerResponse, error: ApiError): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    this.sendJson(res, error.code, error.toStatus());
  }

  private fail(res: ServerResponse, error: unknown): void {
    if (error instanceof ApiError) {
      this.sendError(res, error);
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    this.sendError(res, new ApiError(500, 'InternalError', `Internal error occurred: ${message}`));
  }
}

/** Collects a response body in memory (used to reuse list filtering for deletecollection). */
class CollectingResponse {
  body = '';
  writeHead(): this {
    return this;
  }
  write(chunk: string): boolean {
    this.body += chunk;
    return true;
  }
  end(chunk?: string): void {
    if (chunk) this.body += chunk;
  }
}

function methodNotAllowed(): ApiError {
  return new ApiError(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
  );
}

function conflict(resource: ResourceType, name: string): ApiError {
  const qualified = resource.group ? `${resource.plural}.${resource.group}` : resource.plural;
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, ...(resource.group ? { group: resource.group } : {}), kind: resource.plural },
  );
}

function checkBody(resource: ResourceType, body: unknown): KObject {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest(
      'the body of the request was in an unknown format - accepted media types include: application/json',
    );
  }
  const object = body as Partial<KObject> & { kind?: unknown; apiVersion?: unknown };
  const apiVersion = resource.group ? `${resource.group}/${resource.version}` : resource.version;
  if (object.kind !== undefined && object.kind !== resource.kind) {
    throw badRequest(`the kind of the request body (${String(object.kind)}) does not match ${resource.kind}`);
  }
  if (object.apiVersion !== undefined && object.apiVersion !== apiVersion) {
    throw badRequest(
      `the API version in the data (${String(object.apiVersion)}) does not match the expected API version (${apiVersion})`,
    );
  }
  if (typeof object.metadata !== 'object' || object.metadata === null) {
    throw new ApiError(422, 'Invalid', `${resource.kind} "" is invalid: metadata: Required value`);
  }
  return object as KObject;
}

function applyPatch(contentType: string, current: unknown, patch: unknown): unknown {
  const type = contentType.split(';')[0]!.trim();
  if (type === 'application/merge-patch+json') return mergePatch(current, patch);
  if (type === 'application/strategic-merge-patch+json') return strategicMergePatch(current, patch);
  if (type === 'application/json-patch+json') return jsonPatch(current, patch);
  throw new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`,
  );
}

/** Keeps server-owned fields: identity always, status on main writes, everything but status on status writes. */
function mergeWrite(current: KObject, next: KObject, part: 'main' | 'status'): KObject {
  const cur = current as KObject & { spec?: unknown; status?: unknown };
  const nxt = next as KObject & { spec?: unknown; status?: unknown };
  const metadata = {
    ...nxt.metadata,
    name: current.metadata.name,
    uid: current.metadata.uid,
    creationTimestamp: current.metadata.creationTimestamp,
    resourceVersion: current.metadata.resourceVersion,
    ...(current.metadata.namespace !== undefined ? { namespace: current.metadata.namespace } : {}),
    ...(current.metadata.deletionTimestamp !== undefined
      ? { deletionTimestamp: current.metadata.deletionTimestamp }
      : {}),
  };
  if (part === 'status') return { ...cur, status: nxt.status } as KObject;
  const merged: KObject & { spec?: unknown; status?: unknown } = { ...nxt, metadata };
  delete (merged as { kind?: string }).kind;
  delete (merged as { apiVersion?: string }).apiVersion;
  if ('status' in cur) merged.status = cur.status;
  if (cur.metadata.generation !== undefined) {
    const isSpecChanged = JSON.stringify(cur.spec) !== JSON.stringify(nxt.spec);
    merged.metadata = { ...metadata, generation: cur.metadata.generation + (isSpecChanged ? 1 : 0) };
  }
  return merged;
}

function scaleOf(
  object: KObject & { spec: { replicas?: number; selector?: unknown }; status?: { replicas?: number } },
): unknown {
  const selector = object.spec.selector as { matchLabels?: Record<string, string> } | undefined;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: object.metadata.name,
      namespace: object.metadata.namespace,
      uid: object.metadata.uid,
      resourceVersion: object.metadata.resourceVersion,
      creationTimestamp: object.metadata.creationTimestamp,
    },
    spec: { replicas: object.spec.replicas ?? 0 },
    status: {
      replicas: object.status?.replicas ?? 0,
      selector: Object.entries(selector?.matchLabels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    },
  };
}

function deleteOptions(params: URLSearchParams, body: unknown): DeleteOptions {
  const options: DeleteOptions = {};
  const source = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const grace = params.get('gracePeriodSeconds') ?? source.gracePeriodSeconds;
  if (grace !== undefined && grace !== null) {
    const n = Number(grace);
    if (!Number.isInteger(n) || n < 0)
      throw badRequest(`invalid gracePeriodSeconds: ${JSON.stringify(grace)}`);
    options.gracePeriodSeconds = n;
  }
  const policy = params.get('propagationPolicy') ?? source.propagationPolicy;
  if (policy !== undefined && policy !== null) {
    if (policy !== 'Orphan' && policy !== 'Background' && policy !== 'Foreground') {
      throw badRequest(`propagationPolicy: Unsupported value: ${JSON.stringify(policy)}`);
    }
    options.propagationPolicy = policy;
  }
  return options;
}

async function readRawBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The optional DeleteOptions body of a DELETE: JSON, or the protobuf typed clientsets send (`kubectl drain`). */
async function readDeleteBody(req: IncomingMessage): Promise<unknown> {
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType !== 'application/vnd.kubernetes.protobuf') return readJsonBody(req, true);
  const body = await readRawBody(req);
  return body.length === 0 ? undefined : decodeDeleteOptions(body);
}

async function readJsonBody(req: IncomingMessage, isOptional = false): Promise<unknown> {
  const body = await readRawBody(req);
  // Typed clientsets (`kubectl create deployment`, `kubectl run`) send protobuf; the simulator only
  // decodes JSON, so it answers as a server without that serializer does: 415, not a JSON parse error.
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (['application/vnd.kubernetes.protobuf', 'application/cbor', 'application/yaml'].includes(mediaType)) {
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      'the body of the request was in an unknown format - accepted media types include: application/json',
    );
  }
  const text = body.toString('utf8');
  if (text.trim() === '') {
    if (isOptional) return undefined;
    throw badRequest(
      'the body of the request was in an unknown format - accepted media types include: application/json',
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequest(`the body of the request was in an unknown format: ${(error as Error).message}`);
  }
}

function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let out = '';
  for (let i = 0; i < 5; i++) out += alphabet[Math.floor(Math.random() * alphabet.length)];
  return out;
}

function hashText(text: string): string {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
  return (h >>> 0).toString(16).toUpperCase().padStart(8, '0');
}
