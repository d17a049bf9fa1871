import type { ConditionRecord, Conditions, Labels, OwnerRef, RecordBase } from '../records.js';

/** A JSON object from the API, not yet trusted. */
export type Raw = Record<string, unknown>;

const pool = new Map<string, string>();

/**
 * Returns one shared copy of a low-cardinality string (namespaces, node names, images, label keys,
 * reasons): a cluster repeats them on every pod, and V8 keeps each parsed copy separately.
 */
export function intern(value: string): string {
  const existing = pool.get(value);
  if (existing !== undefined) return existing;
  if (pool.size > 200_000) pool.clear(); // a bound, in case something high-cardinality slips in
  pool.set(value, value);
  return value;
}

/** The value as an object, or undefined. */
export function obj(value: unknown): Raw | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Raw) : undefined;
}

/** The value as an array of objects (non-objects dropped). */
export function objs(value: unknown): Raw[] {
  return Array.isArray(value) ? value.map(obj).filter((x): x is Raw => x !== undefined) : [];
}

/** The value as a string, or undefined. */
export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The value as an interned string, or undefined. */
export function istr(value: unknown): string | undefined {
  return typeof value === 'string' ? intern(value) : undefined;
}

/** The value as a finite number, or the fallback. */
export function num(value: unknown, fallback = 0): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/** The value as a finite number, or undefined. */
export function optNum(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** An RFC 3339 time as epoch ms, or undefined. */
export function time(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

/** A string shortened to `max` characters (messages can be long; rules show them, not store them). */
export function clip(value: unknown, max = 512): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

/** Labels with interned keys and values. */
export function labels(value: unknown): Labels | undefined {
  const o = obj(value);
  if (!o) return undefined;
  const out: Record<string, string> = {};
  let count = 0;
  for (const [k, v] of Object.entries(o)) {
    if (typeof v !== 'string') continue;
    out[intern(k)] = intern(v);
    count++;
  }
  return count > 0 ? out : undefined;
}

const owners = new Map<string, OwnerRef>();

/**
 * The controlling owner reference (or the first, when none is marked controller). One shared object
 * per owner: the pods of a ReplicaSet all point to the same one.
 */
export function owner(meta: Raw): OwnerRef | undefined {
  const refs = objs(meta.ownerReferences);
  const ref = refs.find((r) => r.controller === true) ?? refs[0];
  if (!ref) return undefined;
  const kind = str(ref.kind);
  const name = str(ref.name);
  const uid = str(ref.uid);
  if (!kind || !name || !uid) return undefined;
  const known = owners.get(uid);
  if (known && known.kind === kind && known.name === name) return known;
  if (owners.size > 100_000) owners.clear(); // a bound, as for the string pool
  const shared: OwnerRef = { kind: intern(kind), name: intern(name), uid: intern(uid) };
  owners.set(shared.uid, shared);
  return shared;
}

/** One shared empty list, for the many records with nothing in a list field. */
export const NONE: readonly never[] = Object.freeze([]);

/** Conditions by type. */
export function conditions(value: unknown): Conditions {
  const out: Record<string, ConditionRecord> = {};
  for (const c of objs(value)) {
    const type = str(c.type);
    const status = str(c.status);
    if (!type || (status !== 'True' && status !== 'False' && status !== 'Unknown')) continue;
    out[intern(type)] = {
      status,
      reason: istr(c.reason),
      message: clip(c.message),
      lastTransitionAt: time(c.lastTransitionTime),
      lastUpdateAt: time(c.lastUpdateTime) ?? time(c.lastHeartbeatTime),
    };
  }
  return out;
}

/**
 * The common fields of any object; undefined when the object lacks a name or uid (the collector then
 * counts it as malformed and skips it).
 *
 * Collectors copy these fields into their record literal one by one rather than spreading an object:
 * a record built as `{ ...common, more }` got a hidden class (map and descriptors, ~0.7 KB) of its own
 * whenever a field's type varied between objects (a number here, undefined there), i.e. almost
 * always; a plain literal shares one hidden class per kind.
 */
export function base(raw: unknown): (RecordBase & { meta: Raw; root: Raw }) | undefined {
  const root = obj(raw);
  const meta = obj(root?.metadata);
  if (!root || !meta) return undefined;
  const name = str(meta.name);
  const uid = str(meta.uid);
  if (!name || !uid) return undefined;
  return {
    uid,
    name,
    namespace: istr(meta.namespace),
    createdAt: time(meta.creationTimestamp) ?? 0,
    labels: labels(meta.labels),
    owner: owner(meta),
    deletedAt: time(meta.deletionTimestamp),
    meta,
    root,
  };
}

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/**
 * Parses a Kubernetes quantity (`100m`, `1.5`, `128Mi`, `2G`, `1e3`) into a number; 0 for anything
 * that is not one. client-node 1.4 does not export its parser.
 */
export function quantity(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return 0;
  const m = /^([+-]?\d+(?:\.\d+)?|[+-]?\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/.exec(
    value.trim(),
  );
  if (!m) return 0;
  const n = Number(m[1]);
  if (m[2]) return n * 10 ** Number(m[2].slice(1));
  const suffix = m[3] ?? '';
  return n * (BINARY[suffix] ?? DECIMAL[suffix] ?? 1);
}
