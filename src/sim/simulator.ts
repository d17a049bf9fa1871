import { writeFileSync } from 'node:fs';
import type { KObject } from './model.js';
import {
  ApiServer,
  type ApiBackend,
  type DeleteOptions,
  type RawResponse,
  type RequestRecord,
} from './api/server.js';
import type { ResourceType } from './api/resources.js';
import {
  generateCertificateAuthority,
  generateClientCertificate,
  generateServingCertificate,
  type ServingCertificate,
} from './api/tls.js';
import { Cluster } from './cluster/cluster.js';
import type { Platform } from './cluster/world.js';
import { podLog } from './cluster/logs.js';
import { FaultEngine } from './faults/engine.js';
import { buildCluster, defaultVersion } from './scenario/builtin.js';
import { loadScenario, type Scenario } from './scenario/file.js';
import { Churn } from './scenario/churn.js';
import { WriteLog } from './api/store.js';

/** Writes whose times `recordWrites` keeps (16 MiB). */
const WRITE_LOG_SIZE = 1 << 20;

/** Options of `startSimulator` (and of `healwatch sim`). */
export interface SimulatorOptions {
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** Port (default 0: any free port). */
  port?: number;
  /** Serve HTTPS with a generated self-signed certificate. */
  tls?: boolean;
  /** Lifetime of the generated serving certificate in days (default 365; negative for an expired one). */
  certDays?: number;
  /** Require this bearer token. */
  token?: string;
  /** A built-in scenario name (`demo`, `eks`, `gke`, `aks`) or a scenario file path. */
  scenario?: string;
  /** Worker nodes (default 4). */
  nodes?: number;
  /** Fill the cluster to about this many pods per worker. */
  podsPerNode?: number;
  /** Clock speed relative to real time (default 1). */
  speed?: number;
  /** Seed for names, UIDs and behaviour (default `healwatch`). */
  seed?: string;
  /** `/version` gitVersion (default per platform: the minor before the newest at the start time). */
  version?: string;
  /** `real`: the clock follows real time × speed; `manual`: only `advance()` moves it (tests). */
  clock?: 'real' | 'manual';
  /** Simulated start time, epoch ms (default: now). */
  startTime?: number;
  /** Cap on watch duration in real seconds. */
  maxWatchSeconds?: number;
  /** Real milliseconds between bookmarks. */
  bookmarkIntervalMs?: number;
  /** Watch-history events kept per resource (default 10,000). */
  historySize?: number;
  /** Pod churn for benchmarks: pod deletions (and replacements) per real second. */
  churn?: number;
  /** Keep the wall-clock time of the latest writes and serve them at `GET /sim/v1/writes[/RV]` (benchmarks). */
  recordWrites?: boolean;
  /** Most workers the Cluster Autoscaler may reach (default nodes + 2). */
  maxNodes?: number;
  /** Write a kubeconfig for the simulator to this file. */
  kubeconfigOut?: string;
}

/** A running simulated cluster. */
export interface Simulator {
  /** Base URL of the API server. */
  readonly url: string;
  readonly port: number;
  readonly cluster: Cluster;
  readonly api: ApiServer;
  readonly faults: FaultEngine;
  readonly scenario: Scenario;
  /** Moves a manual clock forward (and runs everything that falls due). */
  advance(ms: number): void;
  /** Requests the server received, oldest first. */
  requestLog(): readonly RequestRecord[];
  /** Resolves when a client watches `plural`. */
  whenWatching(plural: string): Promise<void>;
  /** A kubeconfig that reaches this simulator. */
  kubeconfig(options?: { token?: string; namespace?: string }): string;
  close(): Promise<void>;
}

/** Starts a simulated cluster and its API server. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const scenario = loadScenario(options.scenario ?? 'demo');
  const platform: Platform = scenario.platform;
  const nodes = options.nodes ?? scenario.nodes;
  const now = options.startTime ?? Date.now();
  const cluster = new Cluster({
    seed: options.seed ?? 'healwatch',
    startTime: now - 30 * 86_400_000,
    speed: options.speed ?? scenario.speed ?? 1,
    version: options.version ?? scenario.version ?? defaultVersion(platform, now),
    platform,
    historySize: options.historySize ?? 10_000,
  });
  buildCluster(
    cluster,
    {
      platform,
      nodes,
      podsPerNode: options.podsPerNode,
      maxNodes: options.maxNodes ?? scenario.maxNodes ?? nodes + 2,
    },
    now,
  );
  const faults = new FaultEngine(cluster);
  cluster.world.finishBootstrap(now);
  if (options.recordWrites) cluster.world.store.writeLog = new WriteLog(WRITE_LOG_SIZE);

  const host = options.host ?? '127.0.0.1';
  const authority = options.tls ? generateCertificateAuthority(new Date(now - 21 * 86_400_000)) : undefined;
  cluster.certificateAuthority = authority;
  const certificate = authority
    ? generateServingCertificate(authority, {
        hosts: [host, 'localhost', '127.0.0.1', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
        notBefore: new Date(now - 21 * 86_400_000),
        notAfter: new Date(now + (options.certDays ?? 365) * 86_400_000),
      })
    : undefined;
  // kubeadm's admin.conf authenticates with a client certificate valid one year from the cluster's birth.
  const clientCertificate = authority
    ? generateClientCertificate(authority, {
        commonName: 'kubernetes-admin',
        organization: 'kubeadm:cluster-admins',
        notBefore: new Date(now - 21 * 86_400_000),
        notAfter: new Date(now + 344 * 86_400_000),
      })
    : undefined;
  const backend: ApiBackend = {
    store: cluster.world.store,
    now: () => cluster.world.now(),
    version: () => versionInfo(cluster.world.gitVersion),
    healthChecks: (endpoint) => cluster.healthChecks(endpoint),
    admit: (resource: ResourceType, object: KObject) => cluster.admit(resource, object),
    remove: (resource: ResourceType, object: KObject, opts: DeleteOptions) =>
      cluster.remove(resource, object, opts),
    podLog: (namespace, name, query) => podLog(cluster, namespace, name, query),
    nodeProxy: (node, path, query) => cluster.nodeProxy(node, path, query),
    metrics: (resource, namespace) =>
      cluster
        .metrics(resource.kind === 'NodeMetrics' ? 'NodeMetrics' : 'PodMetrics', namespace)
        .filter((o) => namespace === undefined || o.metadata.namespace === namespace),
    control: (method, path, body) => faults.control(method, path, body),
  };
  const api = new ApiServer(backend, {
    host,
    port: options.port ?? 0,
    ...(certificate && authority ? { certificate, clientCa: authority.cert } : {}),
    ...(options.token ? { token: options.token } : {}),
    ...(options.maxWatchSeconds !== undefined ? { maxWatchSeconds: options.maxWatchSeconds } : {}),
    ...(options.bookmarkIntervalMs !== undefined ? { bookmarkIntervalMs: options.bookmarkIntervalMs } : {}),
  });
  faults.attachApi(api, { host, tls: options.tls === true });
  const port = await api.listen();
  const isManual = options.clock === 'manual';
  if (!isManual) {
    // A long-running simulator reports a failing timer and goes on; tests (manual clock) see it thrown.
    cluster.world.clock.onError = (error) =>
      process.stderr.write(
        `simulator: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    cluster.world.clock.start();
  }
  scenario.schedule(faults, cluster.world.clock);
  const churn = options.churn ? new Churn(cluster, options.churn) : undefined;
  churn?.start();

  const sim: Simulator = {
    url: api.url,
    port,
    cluster,
    api,
    faults,
    scenario,
    advance: (ms) => {
      if (!isManual) throw new Error('advance() needs clock: "manual"');
      cluster.world.clock.advance(ms);
    },
    requestLog: () => api.requestLog(),
    whenWatching: (plural) => api.watches.whenWatching(plural),
    kubeconfig: (o = {}) =>
      kubeconfigFor(api.url, {
        ...(authority ? { caPem: authority.cert } : {}),
        ...((o.token ?? options.token) ? { token: o.token ?? options.token } : {}),
        ...(clientCertificate ? { client: clientCertificate } : {}),
        ...(o.namespace ? { namespace: o.namespace } : {}),
      }),
    close: async () => {
      churn?.stop();
      cluster.world.clock.stop();
      await api.close();
    },
  };
  if (options.kubeconfigOut) writeFileSync(options.kubeconfigOut, sim.kubeconfig(), { mode: 0o600 });
  return sim;
}

/** The `/version` document for a gitVersion. */
export function versionInfo(gitVersion: string): Record<string, string> {
  const m = /^v(\d+)\.(\d+)\.(\d+)(.*)$/.exec(gitVersion);
  const isVendor = m?.[4]?.startsWith('-eks') || m?.[4]?.startsWith('-gke');
  return {
    major: m?.[1] ?? '1',
    minor: `${m?.[2] ?? '32'}${isVendor ? '+' : ''}`,
    emulationMajor: m?.[1] ?? '1',
    emulationMinor: m?.[2] ?? '32',
    minCompatibilityMajor: m?.[1] ?? '1',
    minCompatibilityMinor: String(Number(m?.[2] ?? '32') - 1),
    gitVersion,
    gitCommit: '67a30c0adcf52bd3f56ff0893ce19966be12991f',
    gitTreeState: 'clean',
    buildDate: '2025-02-12T21:19:47Z',
    goVersion: 'go1.23.6',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

/**
 * A kubeconfig YAML for the simulator: with TLS it trusts the simulator's CA and authenticates with the
 * bearer token if one is set, else with the admin client certificate.
 */
export function kubeconfigFor(
  url: string,
  auth: { caPem?: string; token?: string; client?: ServingCertificate; namespace?: string } = {},
): string {
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  let user = '  user: {}';
  if (auth.token) user = `  user:\n    token: ${auth.token}`;
  else if (auth.client)
    user = `  user:\n    client-certificate-data: ${b64(auth.client.cert)}\n    client-key-data: ${b64(auth.client.key)}`;
  const lines = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: healwatch-sim',
    '  cluster:',
    `    server: ${url}`,
    ...(auth.caPem ? [`    certificate-authority-data: ${b64(auth.caPem)}`] : []),
    // Over plain http there is nothing to verify, but client-node 1.4 refuses an http server unless told so.
    ...(url.startsWith('http:') ? ['    insecure-skip-tls-verify: true'] : []),
    'contexts:',
    '- name: healwatch-sim',
    '  context:',
    '    cluster: healwatch-sim',
    '    user: healwatch-sim',
    `    namespace: ${auth.namespace ?? 'default'}`,
    'current-context: healwatch-sim',
    'users:',
    '- name: healwatch-sim',
    user,
    '',
  ];
  return lines.join('\n');
}

export type { RawResponse };
