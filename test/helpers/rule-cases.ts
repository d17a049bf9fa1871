import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  ClusterView,
  COLLECTORS,
  recordKey,
  type AnyRecord,
  type ProbeResults,
  type RecordKind,
} from '../../src/cluster/index.js';
import { refText, type Finding, type Level } from '../../src/domain/index.js';
import { AlertTracker } from '../../src/alerts/tracker.js';
import { inhibit } from '../../src/alerts/inhibit.js';
import { parseConfig, parseDuration } from '../../src/config/config.js';
import { BUILTIN_RULES } from '../../src/rules/builtin/index.js';
import { RuleEngine } from '../../src/rules/engine.js';
import type { AnyRule } from '../../src/rules/rule.js';

/**
 * Rule cases: object timelines and the alerts expected to fire at given times. A case is YAML in
 * `src/rules/builtin/<rule>/cases/`:
 *
 * ```yaml
 * description: fires after two minutes of CrashLoopBackOff, not one step before
 * config: { for: 2m }            # the rule's config, as under rules.<id> in healwatch.yaml
 * step: 30s                      # evaluation interval (default 30s)
 * until: 10m                     # how long the case runs (default: the last expectation)
 * objects: [ { kind: Pod, ... } ] # API objects at the start (JSON as YAML)
 * timeline:
 *   - at: 1m
 *     apply: [ { kind: Pod, ... } ]                      # create or replace
 *     delete: [ { kind: Pod, namespace: shop, name: x } ]
 *     probes: { readyz: { isOk: false, status: 500, checks: [...] } }  # set probe results
 * expect:
 *   - at: 1m30s
 *     firing: []                 # exactly these alerts are firing (others: none)
 *   - at: 2m
 *     firing: [ { object: Pod/shop/cart-1, level: notice, title: CrashLoopBackOff } ]
 * ```
 *
 * Any string `T`, `T+90s` or `T-5m` in the objects becomes a timestamp relative to the case start, so
 * ages and transition times are realistic. Cases run the real engine, inhibition and alert tracker.
 */
export interface RuleCase {
  file: string;
  description: string;
  config: Record<string, unknown>;
  stepMs: number;
  untilMs: number;
  objects: unknown[];
  timeline: {
    atMs: number;
    apply: unknown[];
    delete: { kind: string; namespace?: string; name: string }[];
    probes?: Record<string, unknown>;
  }[];
  expect: { atMs: number; firing: { object: string; level: Level; title?: string }[] }[];
}

/** The start time of every case (fixed, so cases are reproducible). */
export const CASE_START = Date.UTC(2026, 0, 15, 12, 0, 0);

function relativeTimes(value: unknown): unknown {
  if (typeof value === 'string') {
    const m = /^T(?:([+-])(\S+))?$/.exec(value);
    if (!m) return value;
    const offset = m[2] ? parseDuration(m[2]) * (m[1] === '-' ? -1 : 1) : 0;
    return new Date(CASE_START + offset).toISOString().replace('.000Z', 'Z');
  }
  if (Array.isArray(value)) return value.map(relativeTimes);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, relativeTimes(v)]));
  }
  return value;
}

/** Reads the cases of one rule. */
export function loadCases(dir: string): RuleCase[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  } catch {
    return [];
  }
  return files.sort().map((f) => {
    const file = join(dir, f);
    const raw = parse(readFileSync(file, 'utf8'), { merge: true }) as Record<string, unknown>;
    const expect = ((raw.expect as unknown[]) ?? []).map((e) => {
      const x = e as { at: string; firing?: { object: string; level: Level; title?: string }[] };
      return { atMs: parseDuration(String(x.at)), firing: x.firing ?? [] };
    });
    return {
      file,
      description: typeof raw.description === 'string' ? raw.description : f,
      config: (raw.config as Record<string, unknown>) ?? {},
      stepMs: typeof raw.step === 'string' ? parseDuration(raw.step) : 30_000,
      untilMs:
        typeof raw.until === 'string' ? parseDuration(raw.until) : Math.max(0, ...expect.map((e) => e.atMs)),
      objects: relativeTimes(raw.objects ?? []) as unknown[],
      timeline: ((raw.timeline as unknown[]) ?? []).map((t) => {
        const x = t as {
          at: string;
          apply?: unknown[];
          delete?: { kind: string; namespace?: string; name: string }[];
          probes?: Record<string, unknown>;
        };
        return {
          atMs: parseDuration(String(x.at)),
          apply: relativeTimes(x.apply ?? []) as unknown[],
          delete: x.delete ?? [],
          ...(x.probes ? { probes: relativeTimes(x.probes) as Record<string, unknown> } : {}),
        };
      }),
      expect,
    };
  });
}

function applyObject(view: ClusterView, raw: unknown): void {
  const kind = (raw as { kind?: unknown }).kind;
  const collector = COLLECTORS.find((c) => c.kind === kind);
  if (!collector) throw new Error(`case object of unknown kind ${String(kind)}`);
  const record = collector.project(raw);
  if (!record)
    throw new Error(`case object ${JSON.stringify(raw).slice(0, 120)} is not a valid ${String(kind)}`);
  (view.store(collector.kind) as unknown as { upsert(r: AnyRecord): void }).upsert(record);
}

function applyProbes(probes: ProbeResults, values: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(values)) {
    if (k === 'summaries' || k === 'certificates' || k === 'summaryErrors') {
      const map = probes[k] as Map<string, unknown>;
      for (const [key, value] of Object.entries(v as Record<string, unknown>)) map.set(key, value);
    } else {
      (probes as unknown as Record<string, unknown>)[k] = v;
    }
  }
}

/** The outcome of one case: the mismatches (empty when it passes). */
export function runCase(rule: AnyRule, c: RuleCase): string[] {
  const config = parseConfig(JSON.stringify({ rules: { [rule.id]: c.config } }), c.file, [rule]);
  const engine = new RuleEngine(config.rules, config.classification);
  const tracker = new AlertTracker({ forMs: () => config.rules[0]!.common.forMs, resolveAfterMs: 0 });
  const view = new ClusterView();
  for (const o of c.objects) applyObject(view, o);
  const problems: string[] = [];
  const pending = [...c.timeline].sort((a, b) => a.atMs - b.atMs);
  const expectations = [...c.expect].sort((a, b) => a.atMs - b.atMs);
  for (let t = 0; t <= c.untilMs; t += c.stepMs) {
    while (pending.length > 0 && pending[0]!.atMs <= t) {
      const step = pending.shift()!;
      for (const o of step.apply) applyObject(view, o);
      for (const d of step.delete) {
        view.store(d.kind as RecordKind).remove(recordKey({ namespace: d.namespace, name: d.name }));
      }
      if (step.probes) applyProbes(view.probes, step.probes);
    }
    const result = engine.evaluate(view, CASE_START + t);
    for (const e of result.errors) problems.push(`at ${t / 1000}s the rule threw: ${e.message}`);
    const { active } = inhibit(result.findings, {
      inputsOf: (id) => BUILTIN_RULES.find((r) => r.id === id)?.inputs ?? [],
    });
    tracker.update(active, CASE_START + t);
    while (expectations.length > 0 && expectations[0]!.atMs <= t) {
      const e = expectations.shift()!;
      const firing = tracker.firing().map((a) => a.finding);
      const describe = (f: Finding): string => `${refText(f.object)}:${f.level}`;
      const got = firing.map(describe).sort();
      const want = e.firing.map((w) => `${w.object}:${w.level}`).sort();
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        problems.push(
          `at ${e.atMs / 1000}s expected firing [${want.join(', ')}] but got [${got.join(', ')}]`,
        );
        continue;
      }
      for (const w of e.firing) {
        if (!w.title) continue;
        const f = firing.find((x) => `${refText(x.object)}:${x.level}` === `${w.object}:${w.level}`)!;
        if (!f.title.includes(w.title))
          problems.push(`at ${e.atMs / 1000}s ${w.object}: title "${f.title}" does not contain "${w.title}"`);
      }
    }
  }
  for (const e of expectations) problems.push(`expectation at ${e.atMs / 1000}s is after "until"`);
  return problems;
}
