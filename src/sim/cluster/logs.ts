import type { Container, Pod } from '../model.js';
import { R } from '../api/resources.js';
import { ApiError, badRequest, notFound } from '../api/status.js';
import { hashString, Random } from '../random.js';
import type { Cluster } from './cluster.js';

/** One generated log line. */
interface LogLine {
  at: number;
  text: string;
}

type Style = 'nginx' | 'coredns' | 'fluent-bit' | 'postgres' | 'kube' | 'json';

function styleOf(image: string, name: string): Style {
  if (/ingress-nginx|nginx/.test(image)) return 'nginx';
  if (/coredns/.test(image)) return 'coredns';
  if (/fluent-bit/.test(image)) return 'fluent-bit';
  if (/postgres/.test(image)) return 'postgres';
  if (
    /registry\.k8s\.io|calico|cilium|amazon-k8s-cni|azure-cns|cert-manager|kube-/.test(image) ||
    name.startsWith('kube-')
  )
    return 'kube';
  return 'json';
}

function klogTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}000`;
}

function line(
  style: Style,
  container: string,
  at: number,
  rng: Random,
  level: 'info' | 'error' = 'info',
): string {
  const iso = new Date(at).toISOString();
  switch (style) {
    case 'nginx': {
      const paths = ['/', '/api/cart', '/healthz', '/static/app.js', '/api/checkout'];
      const status = level === 'error' ? 502 : rng.pick([200, 200, 200, 304, 404]);
      return `10.244.${rng.int(0, 9)}.${rng.int(2, 250)} - - [${new Date(at).toUTCString().slice(5, 25)} +0000] "GET ${rng.pick(paths)} HTTP/1.1" ${status} ${rng.int(120, 9000)} "-" "Mozilla/5.0" ${rng.int(200, 900)} 0.0${rng.int(1, 99)} [shop-frontend-8080] []`;
    }
    case 'coredns':
      return level === 'error'
        ? `[ERROR] plugin/errors: 2 ${rng.pick(['api.stripe.com.', 'db.shop.svc.cluster.local.'])} A: read udp 10.244.0.3:${rng.int(30000, 60000)}->10.0.0.2:53: i/o timeout`
        : `[INFO] 10.244.${rng.int(0, 9)}.${rng.int(2, 250)}:${rng.int(30000, 60000)} - ${rng.int(1000, 65000)} "A IN ${rng.pick(['postgres.shop.svc.cluster.local.', 'cart.shop.svc.cluster.local.', 'api.payments.svc.cluster.local.'])} udp 64 false 512" NOERROR qr,aa,rd 118 0.000${rng.int(100, 999)}s`;
    case 'fluent-bit':
      return level === 'error'
        ? `[${iso.slice(0, 19).replace('T', ' ')}] [error] [output:es:es.0] HTTP status=429 URI=/_bulk, response: {"error":{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation"}}`
        : `[${iso.slice(0, 19).replace('T', ' ')}] [ info] [input:tail:tail.0] inotify_fs_add(): inode=${rng.int(100000, 999999)} watch_fd=${rng.int(1, 200)} name=/var/log/containers/${rng.pick(['frontend', 'cart', 'api'])}-${rng.nameSuffix()}.log`;
    case 'postgres':
      return `${iso.replace('T', ' ').replace('Z', ' UTC')} [${rng.int(30, 400)}] LOG:  ${rng.pick(['checkpoint starting: time', 'checkpoint complete: wrote 42 buffers (0.3%)', 'automatic vacuum of table "shop.public.orders"'])}`;
    case 'kube':
      return `${level === 'error' ? 'E' : 'I'}${klogTime(at)}       1 ${rng.pick(['reflector.go', 'controller.go', 'leaderelection.go', 'server.go'])}:${rng.int(100, 900)}] ${level === 'error' ? 'Failed to watch: the server could not find the requested resource' : `"${rng.pick(['Caches populated', 'Successfully synced', 'Starting workers'])}" ${container ? `component="${container}"` : ''}`.trim()}`;
    default:
      return JSON.stringify({
        time: iso,
        level,
        msg:
          level === 'error'
            ? 'request failed'
            : rng.pick(['request completed', 'order processed', 'cache refreshed', 'health check ok']),
        ...(level === 'error'
          ? { error: 'upstream connect error or disconnect/reset before headers' }
          : { duration_ms: rng.int(2, 180) }),
      });
  }
}

/** The last lines a crashing process writes before it exits, in its own log style. */
function crashLines(style: Style, container: string, at: number, reason: string): string[] {
  const iso = new Date(at).toISOString();
  const stamp = iso.slice(0, 19).replace('T', ' ');
  if (reason === 'OOMKilled') {
    // The kernel kills the process: its last lines are whatever it was doing, often growing memory.
    if (style === 'json') {
      return [
        JSON.stringify({ time: iso, level: 'warn', msg: 'heap usage high', heap_mb: 241, limit_mb: 256 }),
        JSON.stringify({ time: iso, level: 'warn', msg: 'allocating buffer for batch', size_mb: 64 }),
      ];
    }
    return [line(style, container, at, new Random(at))];
  }
  switch (style) {
    case 'coredns':
      return [
        `[FATAL] plugin/loop: Loop (127.0.0.1:${40000 + (at % 20000)} -> :53) detected for zone ".", see https://coredns.io/plugins/loop#troubleshooting. Query: "HINFO ${at % 9_000_000_000_000_000_000} ${at % 1_000_000_000}.".`,
      ];
    case 'nginx':
      return [
        `${stamp.replace(/-/g, '/')} [emerg] 1#1: host not found in upstream "shop-frontend.shop.svc.cluster.local:8080" in /etc/nginx/nginx.conf:41`,
        `nginx: [emerg] host not found in upstream "shop-frontend.shop.svc.cluster.local:8080" in /etc/nginx/nginx.conf:41`,
      ];
    case 'fluent-bit':
      return [
        `[${stamp}] [error] [output:es:es.0] HTTP status=429 URI=/_bulk, response: {"error":{"type":"es_rejected_execution_exception"}}`,
        `[${stamp}] [error] [engine] chunk '1-${at}.flb' cannot be retried: task_id=7, input=tail.0 > output=es.0`,
        `[${stamp}] [engine] caught signal (SIGSEGV)`,
      ];
    case 'postgres':
      return [
        `${iso.replace('T', ' ').replace('Z', ' UTC')} [1] FATAL:  could not open file "global/pg_filenode.map": Permission denied`,
        `${iso.replace('T', ' ').replace('Z', ' UTC')} [1] LOG:  database system is shut down`,
      ];
    case 'kube':
      return [
        `E${klogTime(at)}       1 run.go:72] "command failed" err="failed to start ${container}: open /etc/kubernetes/${container}.conf: no such file or directory"`,
      ];
    default:
      return [
        JSON.stringify({
          time: iso,
          level: 'error',
          msg: 'failed to connect to database',
          error: 'dial tcp 10.96.12.41:5432: connect: connection refused',
        }),
        JSON.stringify({
          time: iso,
          level: 'fatal',
          msg: 'exiting: dependency not available after 3 attempts',
        }),
      ];
  }
}

/**
 * `pods/log`: plausible, reproducible log text for a container instance (the current one, or the
 * previous one with `previous=true`), honouring `container`, `tailLines`, `sinceSeconds`,
 * `timestamps` and `limitBytes`, with the API server's 400 answers for a container that has not started.
 */
export function podLog(cluster: Cluster, namespace: string, name: string, query: URLSearchParams): string {
  const pod = cluster.world.store.get<Pod>(R.pods, namespace, name);
  if (!pod) throw notFound('pods', '', name);
  const containerName = query.get('container') ?? undefined;
  let container: Container | undefined;
  if (containerName) {
    container = pod.spec.containers.find((c) => c.name === containerName);
    if (!container) {
      throw badRequest(`container ${containerName} is not valid for pod ${name}`);
    }
  } else if (pod.spec.containers.length === 1) {
    container = pod.spec.containers[0];
  } else {
    throw badRequest(
      `a container name must be specified for pod ${name}, choose one of: [${pod.spec.containers.map((c) => c.name).join(' ')}]`,
    );
  }
  const c = container!;
  const isPrevious = query.get('previous') === 'true';
  const status = pod.status.containerStatuses?.find((s) => s.name === c.name);
  const kubelet = pod.spec.nodeName ? cluster.kubelets.get(pod.spec.nodeName) : undefined;
  const rt = kubelet?.containerRuntime(pod.metadata.uid, c.name);
  if (isPrevious) {
    if (!status?.lastState.terminated) {
      throw badRequest(`previous terminated container "${c.name}" in pod "${name}" not found`);
    }
  } else if (!status || (status.state.waiting && !status.lastState.terminated && (rt?.instance ?? 0) === 0)) {
    const reason = status?.state.waiting?.reason ?? 'ContainerCreating';
    if (reason === 'ImagePullBackOff' || reason === 'ErrImagePull') {
      throw badRequest(
        `container "${c.name}" in pod "${name}" is waiting to start: trying and failing to pull image`,
      );
    }
    throw badRequest(`container "${c.name}" in pod "${name}" is waiting to start: ${reason}`);
  }
  if (kubelet && !kubelet.isRunning) {
    throw new ApiError(
      500,
      'InternalError',
      `Get "https://${kubelet.internalIp()}:10250/containerLogs/${namespace}/${name}/${c.name}": dial tcp ${kubelet.internalIp()}:10250: connect: connection refused`,
    );
  }
  const now = cluster.world.now();
  // While the container waits to restart, "previous" and "current" are the same stopped container,
  // as the kubelet serves them; while it runs, "previous" is the one before.
  const current = rt?.instance ?? 1;
  const instance = Math.max(1, isPrevious && !status?.state.waiting ? current - 1 : current);
  let start: number;
  let end: number;
  let exitReason: string | undefined;
  const previous = status?.lastState.terminated;
  if (isPrevious && previous) {
    const last = previous;
    start = Date.parse(last.startedAt ?? pod.metadata.creationTimestamp);
    end = Date.parse(last.finishedAt ?? new Date(now).toISOString());
    exitReason = last.reason;
  } else if (status?.state.terminated) {
    start = Date.parse(status.state.terminated.startedAt ?? pod.metadata.creationTimestamp);
    end = Date.parse(status.state.terminated.finishedAt ?? new Date(now).toISOString());
    exitReason = status.state.terminated.reason;
  } else if (status?.state.waiting && status.lastState.terminated) {
    // CrashLoopBackOff: `kubectl logs` shows the last run, which ended in the crash.
    const last = status.lastState.terminated;
    start = Date.parse(last.startedAt ?? pod.metadata.creationTimestamp);
    end = Date.parse(last.finishedAt ?? new Date(now).toISOString());
    exitReason = last.reason;
  } else {
    start = Date.parse(status?.state.running?.startedAt ?? pod.metadata.creationTimestamp);
    end = now;
  }
  const style = styleOf(c.image, c.name);
  const rng = new Random(hashString(`${pod.metadata.uid}/${c.name}/${instance}`));
  const isNoisy =
    rt?.behavior.kind === 'flaky' || (pod.metadata.namespace === 'logging' && rt?.behavior.kind !== 'run');
  const lines: LogLine[] = [{ at: start, text: line(style, c.name, start, rng) }];
  // About one line a minute for long runs (the last 500 minutes at most), denser for short ones.
  const span = end - start;
  const step = Math.max(1000, Math.min(60_000, span / 20));
  for (let t = Math.max(start + step, end - 500 * step); t < end; t += step) {
    const level = isNoisy && rng.next() < 0.4 ? 'error' : 'info';
    lines.push({ at: t, text: line(style, c.name, t, rng, level) });
  }
  if (exitReason && exitReason !== 'Completed') {
    for (const text of crashLines(style, c.name, end, exitReason)) lines.push({ at: end, text });
  } else if (exitReason === 'Completed') {
    lines.push({
      at: end,
      text: JSON.stringify({
        time: new Date(end).toISOString(),
        level: 'info',
        msg: 'job finished',
        records: rng.int(100, 9000),
      }),
    });
  }
  let selected = lines;
  const since = query.get('sinceSeconds');
  if (since !== null) selected = selected.filter((l) => l.at >= now - Number(since) * 1000);
  const sinceTime = query.get('sinceTime');
  if (sinceTime) selected = selected.filter((l) => l.at >= Date.parse(sinceTime));
  const tail = query.get('tailLines');
  if (tail !== null && Number(tail) >= 0)
    selected = selected.slice(Math.max(0, selected.length - Number(tail)));
  const hasTimestamps = query.get('timestamps') === 'true';
  let text = selected
    .map(
      (l) => `${hasTimestamps ? `${new Date(l.at).toISOString().replace('Z', '000000Z')} ` : ''}${l.text}\n`,
    )
    .join('');
  const limit = query.get('limitBytes');
  if (limit !== null && Number(limit) > 0)
    text = Buffer.from(text).subarray(0, Number(limit)).toString('utf8');
  return text;
}
