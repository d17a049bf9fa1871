import { existsSync, readFileSync } from 'node:fs';
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type { SimClock } from '../clock.js';
import type { Platform } from '../cluster/world.js';
import { FAULTS } from '../faults/catalog.js';
import type { FaultEngine } from '../faults/engine.js';
import { parseDuration } from '../time.js';
import { BUILTIN_SCENARIOS } from './builtin.js';

/** One timed step of a scenario: at `atMs` start a fault (optionally for `forMs`), or stop one. */
export interface TimelineStep {
  atMs: number;
  fault: string;
  target?: string;
  args: string[];
  forMs?: number;
  /** Stop the named fault instead of starting it. */
  isStop: boolean;
}

/** A loaded scenario: the base cluster and the timeline of faults. */
export interface Scenario {
  name: string;
  platform: Platform;
  nodes: number;
  speed?: number;
  version?: string;
  maxNodes?: number;
  timeline: TimelineStep[];
  /** Schedules the timeline on the clock, relative to now. */
  schedule(faults: FaultEngine, clock: SimClock): void;
}

/** A scenario file that does not validate; the message names the file, line and field. */
export class ScenarioError extends Error {}

const PLATFORM_OF: Record<string, Platform> = { demo: 'kubeadm', eks: 'eks', gke: 'gke', aks: 'aks' };

function builtin(name: string): Scenario {
  return makeScenario({ name, platform: PLATFORM_OF[name]!, nodes: 4, timeline: [] });
}

function makeScenario(s: Omit<Scenario, 'schedule'>): Scenario {
  return {
    ...s,
    schedule(faults, clock) {
      for (const step of s.timeline) {
        clock.at(clock.now() + step.atMs, () => {
          try {
            if (step.isStop) faults.stopMatching(step.fault, step.target);
            else
              faults.start({
                name: step.fault,
                target: step.target,
                args: step.args,
                duration: step.forMs === undefined ? undefined : `${step.forMs}ms`,
              });
          } catch (error) {
            process.stderr.write(
              `scenario ${s.name}: step at ${step.atMs / 1000}s failed: ${(error as Error).message}\n`,
            );
          }
        });
      }
    },
  };
}

/** Loads a built-in scenario by name or a scenario file by path. */
export function loadScenario(nameOrPath: string): Scenario {
  if ((BUILTIN_SCENARIOS as readonly string[]).includes(nameOrPath)) return builtin(nameOrPath);
  if (!existsSync(nameOrPath)) {
    throw new ScenarioError(
      `unknown scenario "${nameOrPath}": not a built-in (${BUILTIN_SCENARIOS.join(', ')}) and no such file`,
    );
  }
  return parseScenario(readFileSync(nameOrPath, 'utf8'), nameOrPath);
}

/** Parses and validates scenario YAML; errors name the file, line and field. */
export function parseScenario(text: string, file: string): Scenario {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const where = (node: YamlNode | null | undefined): string => {
    const offset = node?.range?.[0];
    return offset === undefined ? file : `${file}:${lines.linePos(offset).line}`;
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new ScenarioError(
      `${file}:${e.linePos?.[0]?.line ?? lines.linePos(e.pos[0]).line}: invalid YAML: ${e.message.split('\n')[0]}`,
    );
  }
  const root = doc.contents;
  if (!isMap(root))
    throw new ScenarioError(`${where(root)}: a scenario must be a mapping with "base" and "timeline"`);
  const fail = (node: YamlNode | null | undefined, field: string, message: string): never => {
    throw new ScenarioError(`${where(node)}: ${field}: ${message}`);
  };
  const known = ['base', 'nodes', 'speed', 'version', 'maxNodes', 'timeline', 'description'];
  for (const pair of root.items) {
    const key = String((pair.key as { value?: unknown }).value);
    if (!known.includes(key)) fail(pair.key, key, `unknown field (fields: ${known.join(', ')})`);
  }
  const get = (key: string): { node: YamlNode | null | undefined; value: unknown } => {
    const pair = root.items.find((p) => String((p.key as { value?: unknown }).value) === key);
    const node = pair?.value as YamlNode | null | undefined;
    return { node, value: node && 'toJSON' in node ? (node as { toJSON(): unknown }).toJSON() : undefined };
  };
  const base = get('base');
  const baseName = base.value === undefined ? 'demo' : base.value;
  if (typeof baseName !== 'string' || !(baseName in PLATFORM_OF)) {
    fail(
      base.node,
      'base',
      `must be one of ${Object.keys(PLATFORM_OF).join(', ')}, got ${JSON.stringify(base.value)}`,
    );
  }
  const number = (key: string, min: number, max: number, isInteger: boolean): number | undefined => {
    const f = get(key);
    if (f.value === undefined) return undefined;
    if (
      typeof f.value !== 'number' ||
      f.value < min ||
      f.value > max ||
      (isInteger && !Number.isInteger(f.value))
    ) {
      fail(
        f.node,
        key,
        `must be ${isInteger ? 'an integer' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(f.value)}`,
      );
    }
    return f.value as number;
  };
  const nodes = number('nodes', 1, 10_000, true) ?? 4;
  const speed = number('speed', 0.001, 10_000, false);
  const maxNodes = number('maxNodes', 1, 20_000, true);
  const version = get('version');
  if (
    version.value !== undefined &&
    (typeof version.value !== 'string' || !/^v\d+\.\d+\.\d+/.test(version.value))
  ) {
    fail(version.node, 'version', `must look like v1.32.2, got ${JSON.stringify(version.value)}`);
  }
  const timelineField = get('timeline');
  const timeline: TimelineStep[] = [];
  if (timelineField.node !== undefined && timelineField.node !== null) {
    if (!isSeq(timelineField.node)) fail(timelineField.node, 'timeline', 'must be a list of steps');
    const seq = timelineField.node as unknown as { items: YamlNode[] };
    seq.items.forEach((item, i) => {
      const field = (name: string): string => `timeline[${i}].${name}`;
      if (!isMap(item))
        fail(item, `timeline[${i}]`, 'each step must be a mapping with "at" and "fault" (or "stop")');
      const map = item as unknown as { items: { key: { value?: unknown }; value: YamlNode | null }[] };
      const value = (key: string): { node: YamlNode | null | undefined; value: unknown } => {
        const pair = map.items.find((p) => String(p.key.value) === key);
        return {
          node: pair?.value,
          value:
            pair?.value && 'toJSON' in pair.value
              ? (pair.value as { toJSON(): unknown }).toJSON()
              : undefined,
        };
      };
      for (const p of map.items) {
        const key = String(p.key.value);
        if (!['at', 'fault', 'stop', 'target', 'args', 'for'].includes(key)) {
          fail(
            p.key as unknown as YamlNode,
            field(key),
            'unknown field (fields: at, fault, stop, target, args, for)',
          );
        }
      }
      const at = value('at');
      let atMs = 0;
      try {
        atMs = parseDuration(scalarText(at.value));
      } catch {
        fail(
          at.node ?? item,
          field('at'),
          `must be a duration such as 30s or 5m, got ${JSON.stringify(at.value)}`,
        );
      }
      const fault = value('fault');
      const stop = value('stop');
      if ((fault.value === undefined) === (stop.value === undefined))
        fail(item, field('fault'), 'give exactly one of "fault" or "stop"');
      const name = fault.value ?? stop.value;
      const nameNode = fault.node ?? stop.node;
      if (typeof name !== 'string' || !FAULTS.some((f) => f.name === name)) {
        fail(
          nameNode,
          field(fault.value !== undefined ? 'fault' : 'stop'),
          `unknown fault ${JSON.stringify(name)}; faults: ${FAULTS.map((f) => f.name).join(', ')}`,
        );
      }
      const def = FAULTS.find((f) => f.name === name)!;
      const target = value('target');
      if (
        target.value !== undefined &&
        typeof target.value !== 'string' &&
        typeof target.value !== 'number'
      ) {
        fail(target.node, field('target'), 'must be a string');
      }
      if (fault.value !== undefined && def.target === 'required' && target.value === undefined) {
        fail(item, field('target'), `fault "${def.name}" needs a target: ${def.usage}`);
      }
      const args = value('args');
      if (
        args.value !== undefined &&
        (!Array.isArray(args.value) ||
          !args.value.every((a) => typeof a === 'string' || typeof a === 'number'))
      ) {
        fail(args.node, field('args'), 'must be a list of strings');
      }
      const forField = value('for');
      let forMs: number | undefined;
      if (forField.value !== undefined) {
        try {
          forMs = parseDuration(scalarText(forField.value));
        } catch {
          fail(
            forField.node,
            field('for'),
            `must be a duration such as 2m, got ${JSON.stringify(forField.value)}`,
          );
        }
      }
      const step: TimelineStep = {
        atMs,
        fault: name as string,
        args: ((args.value as unknown[] | undefined) ?? []).map(String),
        isStop: stop.value !== undefined,
      };
      if (target.value !== undefined) step.target = scalarText(target.value);
      if (forMs !== undefined) step.forMs = forMs;
      timeline.push(step);
    });
  }
  const scenario: Omit<Scenario, 'schedule'> = {
    name: file,
    platform: PLATFORM_OF[baseName as string]!,
    nodes,
    timeline,
  };
  if (speed !== undefined) scenario.speed = speed;
  if (maxNodes !== undefined) scenario.maxNodes = maxNodes;
  if (typeof version.value === 'string') scenario.version = version.value;
  return makeScenario(scenario);
}

/** The text of a YAML scalar (strings as they are, numbers printed), for values parsed further. */
function scalarText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? '';
}
