import type { Container, Pod } from '../model.js';
import { parseDuration } from '../time.js';

/**
 * What a simulated container does once started. Workloads choose it with the pod template annotation
 * `sim.healwatch.io/behavior` (`run`, `crash:30s`, `oom:45s`, `complete:20s`, `fail:10s`, `unready`,
 * `flaky:2m`), faults override it, and an image that cannot exist gives `bad-image`.
 */
export type Behavior =
  | { kind: 'run' }
  | { kind: 'unready' }
  | { kind: 'bad-image' }
  | { kind: 'crash'; afterMs: number; exitCode: number; reason: 'Error' | 'OOMKilled'; logLine?: string }
  | { kind: 'complete'; afterMs: number }
  | { kind: 'fail'; afterMs: number }
  /** Crashes now and then (every `everyMs` on average) but keeps running in between. */
  | { kind: 'flaky'; everyMs: number };

/** The annotation that sets a container's behavior on a pod template. */
export const BEHAVIOR_ANNOTATION = 'sim.healwatch.io/behavior';

/** Parses the behavior annotation; the annotation may name a container: `web=crash:30s,sidecar=run`. */
export function parseBehavior(text: string): Behavior {
  const [kind = '', arg] = text.trim().split(':', 2);
  const ms = (fallback: string): number => parseDuration(arg ?? fallback);
  switch (kind) {
    case 'run':
      return { kind: 'run' };
    case 'unready':
      return { kind: 'unready' };
    case 'bad-image':
      return { kind: 'bad-image' };
    case 'crash':
      return { kind: 'crash', afterMs: ms('20s'), exitCode: 1, reason: 'Error' };
    case 'oom':
      return { kind: 'crash', afterMs: ms('30s'), exitCode: 137, reason: 'OOMKilled' };
    case 'complete':
      return { kind: 'complete', afterMs: ms('30s') };
    case 'fail':
      return { kind: 'fail', afterMs: ms('10s') };
    case 'flaky':
      return { kind: 'flaky', everyMs: ms('2m') };
    default:
      throw new RangeError(
        `unknown behavior "${text}" (use run, unready, bad-image, crash[:T], oom[:T], complete[:T], fail[:T], flaky[:T])`,
      );
  }
}

/** The behavior a pod's annotation gives one container, or undefined when none is set for it. */
export function annotatedBehavior(pod: Pod, container: Container): Behavior | undefined {
  const text = pod.metadata.annotations?.[BEHAVIOR_ANNOTATION];
  if (!text) return undefined;
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return parseBehavior(part);
    if (part.slice(0, eq).trim() === container.name) return parseBehavior(part.slice(eq + 1));
  }
  return undefined;
}

/** Whether an image reference cannot be pulled (a tag or registry that does not exist). */
export function isUnpullable(image: string): boolean {
  return /(:|\/)(does-not-exist|doesnotexist|nonexistent)|^invalid\.|\.invalid\//.test(image);
}
