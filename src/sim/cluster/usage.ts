import type { Container, Pod } from '../model.js';
import { milliCpu, parseQuantity } from '../quantity.js';
import { hashString } from '../random.js';

const MI = 2 ** 20;

/** CPU (millicores) and memory (bytes, working set) a container uses at one moment. */
export interface Usage {
  cpu: number;
  memory: number;
}

/**
 * The resource usage model: a container uses a stable share of its requests (or a small default when
 * it has none) that drifts with an hourly cycle, so charts look alive but values are reproducible for
 * the same seed and time. An OOM-killed container's memory climbs towards its limit.
 */
export function containerUsage(
  pod: Pod,
  container: Container,
  now: number,
  isOomBound: boolean,
  runningSince: number,
): Usage {
  const seed = hashString(`${pod.metadata.uid}/${container.name}`);
  const share = 0.15 + (seed % 1000) / 1500; // 15 % .. 82 % of the request
  const phase = ((seed >>> 10) % 3600) * 1000;
  const wave =
    1 + 0.2 * Math.sin(((now + phase) / 3_600_000) * 2 * Math.PI) + 0.05 * Math.sin(now / 47_000 + seed);
  const requestCpu = milliCpu(container.resources?.requests?.cpu) || 20 + (seed % 80);
  const requestMemory = parseQuantity(container.resources?.requests?.memory) || (32 + (seed % 160)) * MI;
  const cpu = Math.max(1, requestCpu * share * wave);
  let memory = Math.max(
    4 * MI,
    requestMemory * (0.35 + share * 0.6) * (1 + 0.03 * Math.sin(now / 600_000 + seed)),
  );
  if (isOomBound) {
    const limit = parseQuantity(container.resources?.limits?.memory) || requestMemory * 1.2;
    const climb = Math.min(1, (now - runningSince) / 30_000);
    memory = limit * (0.6 + 0.39 * climb);
  }
  return { cpu, memory };
}
