import type { RecordKind, RecordOf } from '../records.js';

/** Maps one kind of API object to its slim record, and says where that kind is served. */
export interface Collector<K extends RecordKind> {
  readonly kind: K;
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly isNamespaced: boolean;
  /** Watched only when discovery serves it (CRDs such as cert-manager Certificates). */
  readonly isOptional?: boolean;
  /** The slim record, or undefined when the object is malformed (it is then counted and skipped). */
  project(raw: unknown): RecordOf<K> | undefined;
}

/** Any one collector (a union, so each keeps its own record type). */
export type AnyCollector = { [K in RecordKind]: Collector<K> }[RecordKind];

/** The collection path of a collector, e.g. `/apis/apps/v1/deployments`. */
export function collectionPath(c: AnyCollector): string {
  return c.group === '' ? `/api/${c.version}/${c.plural}` : `/apis/${c.group}/${c.version}/${c.plural}`;
}
