import type { KObject } from '../model.js';
import type { ResourceType } from './resources.js';

/** A Table column definition (`meta.k8s.io/v1` `TableColumnDefinition`). */
export interface ColumnDefinition {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  priority: number;
}

/** Prints one resource kind as server-side Table rows, ported from upstream `printers.go`. */
export interface Printer {
  readonly columns: readonly ColumnDefinition[];
  /** The cells of one object's row; `now` is the simulated time in epoch milliseconds. */
  cells(object: KObject, now: number): unknown[];
}

/** How rows carry their object (`includeObject` query parameter). */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** One row of a Table. */
export interface TableRow {
  cells: unknown[];
  object?: unknown;
}

/** The object a Table row embeds, following `includeObject` (default `Metadata`). */
export function rowObject(object: KObject, resource: ResourceType, include: IncludeObject): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return withKind(object, resource);
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata };
}

/** The object with its `kind` and `apiVersion` put back, as get and watch return it. */
export function withKind(object: KObject, resource: ResourceType): KObject {
  const apiVersion = resource.group === '' ? resource.version : `${resource.group}/${resource.version}`;
  return { kind: resource.kind, apiVersion, ...object };
}

/** A `meta.k8s.io/v1` Table. */
export function table(
  printer: Printer,
  resource: ResourceType,
  objects: readonly KObject[],
  now: number,
  options: { include: IncludeObject; withHeaders: boolean; listMetadata: Record<string, unknown> },
): unknown {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: options.listMetadata,
    columnDefinitions: options.withHeaders ? printer.columns : null,
    rows: objects.map((o) => tableRow(printer, resource, o, now, options.include)),
  };
}

/** One Table row for an object. */
export function tableRow(
  printer: Printer,
  resource: ResourceType,
  object: KObject,
  now: number,
  include: IncludeObject,
): TableRow {
  const row: TableRow = { cells: printer.cells(object, now) };
  const embedded = rowObject(object, resource, include);
  if (embedded !== undefined) row.object = embedded;
  return row;
}

/** The default printer for resources without their own: Name and Created At. */
export const DEFAULT_PRINTER: Printer = {
  columns: [
    {
      name: 'Name',
      type: 'string',
      format: 'name',
      description:
        'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
      priority: 0,
    },
    {
      name: 'Created At',
      type: 'date',
      format: '',
      description:
        'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
      priority: 0,
    },
  ],
  cells: (o) => [o.metadata.name, o.metadata.creationTimestamp],
};
