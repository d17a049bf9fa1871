import type { ContainerRecord, PodRecord } from '../records.js';
import type { Collector } from './collector.js';
import {
  base,
  clip,
  conditions,
  intern,
  istr,
  NONE,
  num,
  obj,
  objs,
  quantity,
  str,
  time,
  type Raw,
} from './read.js';

function container(status: Raw | undefined, spec: Raw): ContainerRecord {
  const state = obj(status?.state);
  const running = obj(state?.running);
  const waiting = obj(state?.waiting);
  const terminated = obj(state?.terminated);
  const last = obj(obj(status?.lastState)?.terminated);
  return {
    name: intern(str(spec.name) ?? str(status?.name) ?? ''),
    image: intern(str(spec.image) ?? str(status?.image) ?? ''),
    isReady: status?.ready === true,
    restarts: num(status?.restartCount),
    state: running ? 'running' : waiting ? 'waiting' : terminated ? 'terminated' : 'unknown',
    reason: istr(waiting?.reason ?? terminated?.reason),
    message: clip(waiting?.message ?? terminated?.message, 256),
    exitCode: terminated ? num(terminated.exitCode) : undefined,
    startedAt: time(running?.startedAt ?? terminated?.startedAt),
    lastTermination: last
      ? {
          reason: istr(last.reason),
          exitCode: num(last.exitCode),
          startedAt: time(last.startedAt),
          finishedAt: time(last.finishedAt),
        }
      : undefined,
  };
}

function containers(specs: Raw[], statuses: Raw[]): readonly ContainerRecord[] {
  if (specs.length === 0) return NONE;
  return specs.map((spec) =>
    container(
      statuses.find((s) => s.name === spec.name),
      spec,
    ),
  );
}

function claimNames(volumes: Raw[]): readonly string[] {
  const names = volumes
    .map((v) => str(obj(v.persistentVolumeClaim)?.claimName))
    .filter((n): n is string => n !== undefined);
  return names.length > 0 ? names : NONE;
}

/** Pods: phase, conditions, container states and restarts, node, requests, owner. */
export const podCollector: Collector<'Pod'> = {
  kind: 'Pod',
  group: '',
  version: 'v1',
  plural: 'pods',
  isNamespaced: true,
  project(raw): PodRecord | undefined {
    const b = base(raw);
    if (!b) return undefined;
    const spec = obj(b.root.spec) ?? {};
    const status = obj(b.root.status) ?? {};
    const specContainers = objs(spec.containers);
    let cpu = 0;
    let memory = 0;
    let memoryLimit = 0;
    let hasAllLimits = specContainers.length > 0;
    for (const c of specContainers) {
      const resources = obj(c.resources);
      cpu += quantity(obj(resources?.requests)?.cpu) * 1000;
      memory += quantity(obj(resources?.requests)?.memory);
      const limit = quantity(obj(resources?.limits)?.memory);
      if (limit > 0) memoryLimit += limit;
      else hasAllLimits = false;
    }
    const annotations = obj(b.meta.annotations);
    return {
      uid: b.uid,
      name: b.name,
      namespace: b.namespace,
      createdAt: b.createdAt,
      labels: b.labels,
      owner: b.owner,
      deletedAt: b.deletedAt,
      kind: 'Pod',
      nodeName: istr(spec.nodeName),
      phase: intern(str(status.phase) ?? 'Unknown'),
      reason: istr(status.reason),
      message: clip(status.message, 256),
      startedAt: time(status.startTime),
      conditions: conditions(status.conditions),
      containers: containers(specContainers, objs(status.containerStatuses)),
      initContainers: containers(objs(spec.initContainers), objs(status.initContainerStatuses)),
      qosClass: istr(status.qosClass),
      priorityClassName: istr(spec.priorityClassName),
      cpuRequest: Math.round(cpu),
      memoryRequest: memory,
      memoryLimit: hasAllLimits ? memoryLimit : 0,
      claimNames: claimNames(objs(spec.volumes)),
      isStatic: annotations?.['kubernetes.io/config.mirror'] !== undefined,
    };
  },
};
