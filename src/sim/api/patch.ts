import { ApiError, badRequest } from './status.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Applies an RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

// The merge keys upstream's strategic merge patch uses for the lists the simulator serves.
const MERGE_KEYS = ['name', 'type', 'containerPort', 'mountPath', 'ip', 'key'];

function mergeKeyOf(items: readonly unknown[]): string | undefined {
  if (items.length === 0 || !items.every(isObject)) return undefined;
  return MERGE_KEYS.find((k) => items.every((i) => isObject(i) && i[k] !== undefined));
}

/**
 * Applies a strategic merge patch for the list shapes Kubernetes objects use: lists of objects are
 * merged by their merge key (`name` for containers and env, `type` for conditions, ...), `$patch:
 * delete` removes an item, `$retainKeys` and directives on maps are honoured only as far as kubectl's
 * `set image`, `scale`, `rollout restart` and `label` need.
 */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  if (patch.$patch === 'replace') {
    const { $patch: _ignored, ...rest } = patch;
    void _ignored;
    return rest;
  }
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (
      key.startsWith('$') ||
      key.startsWith('$setElementOrder/') ||
      key.startsWith('$deleteFromPrimitiveList/')
    ) {
      continue;
    }
    if (value === null) {
      delete out[key];
      continue;
    }
    const current = out[key];
    if (Array.isArray(value) && Array.isArray(current)) {
      const mergeKey = mergeKeyOf(value) ?? mergeKeyOf(current);
      if (mergeKey) {
        const merged: unknown[] = [...(current as unknown[])];
        for (const item of value) {
          const itemObject = item as Record<string, Json>;
          const index = merged.findIndex((m) => isObject(m) && m[mergeKey] === itemObject[mergeKey]);
          if (itemObject.$patch === 'delete') {
            if (index >= 0) merged.splice(index, 1);
          } else if (index >= 0) {
            merged[index] = strategicMergePatch(merged[index], item);
          } else {
            merged.push(strategicMergePatch(undefined, item));
          }
        }
        out[key] = merged;
        continue;
      }
    }
    out[key] = strategicMergePatch(current, value);
  }
  return out;
}

interface JsonPatchOp {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw badRequest(`invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Applies an RFC 6902 JSON patch (add, remove, replace, move, copy, test). */
export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest('json patch must be an array of operations');
  let doc: unknown = structuredClone(target);
  for (const raw of ops as unknown[]) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw badRequest('json patch operation must have "op" and "path"');
    }
    const op = raw as unknown as JsonPatchOp;
    const path = parsePointer(op.path);
    switch (op.op) {
      case 'add':
        doc = setAt(doc, path, op.value, 'add');
        break;
      case 'replace':
        getAt(doc, path, op.path);
        doc = setAt(doc, path, op.value, 'replace');
        break;
      case 'remove':
        getAt(doc, path, op.path);
        doc = removeAt(doc, path);
        break;
      case 'move':
      case 'copy': {
        if (typeof op.from !== 'string') throw badRequest(`json patch ${op.op} needs "from"`);
        const from = parsePointer(op.from);
        const value = structuredClone(getAt(doc, from, op.from));
        if (op.op === 'move') doc = removeAt(doc, from);
        doc = setAt(doc, path, value, 'add');
        break;
      }
      case 'test':
        if (JSON.stringify(getAt(doc, path, op.path)) !== JSON.stringify(op.value)) {
          throw new ApiError(
            422,
            'Invalid',
            `the server rejected our request due to an error in our request: testing value ${op.path} failed`,
          );
        }
        break;
      default:
        throw badRequest(`unexpected json patch operation "${op.op}"`);
    }
  }
  return doc;
}

function getAt(doc: unknown, path: string[], text: string): unknown {
  let node = doc;
  for (const part of path) {
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isObject(node)) node = node[part];
    else node = undefined;
    if (node === undefined)
      throw new ApiError(
        422,
        'Invalid',
        `the server rejected our request due to an error in our request: path ${text} not found`,
      );
  }
  return node;
}

function setAt(doc: unknown, path: string[], value: unknown, mode: 'add' | 'replace'): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [string, ...string[]];
  if (Array.isArray(doc)) {
    const copy: unknown[] = [...(doc as unknown[])];
    const index = head === '-' ? copy.length : Number(head);
    if (rest.length === 0) {
      if (mode === 'add') copy.splice(index, 0, value);
      else copy[index] = value;
    } else {
      copy[index] = setAt(copy[index], rest, value, mode);
    }
    return copy;
  }
  const copy: Record<string, unknown> = isObject(doc) ? { ...doc } : {};
  copy[head] = rest.length === 0 ? value : setAt(copy[head], rest, value, mode);
  return copy;
}

function removeAt(doc: unknown, path: string[]): unknown {
  const [head, ...rest] = path as [string, ...string[]];
  if (Array.isArray(doc)) {
    const copy: unknown[] = [...(doc as unknown[])];
    if (rest.length === 0) copy.splice(Number(head), 1);
    else copy[Number(head)] = removeAt(copy[Number(head)], rest);
    return copy;
  }
  const copy: Record<string, unknown> = isObject(doc) ? { ...doc } : {};
  if (rest.length === 0) delete copy[head];
  else copy[head] = removeAt(copy[head], rest);
  return copy;
}
