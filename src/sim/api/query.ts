import { badRequest } from './status.js';

/** The list and watch query parameters the simulator understands, validated. */
export interface ListQuery {
  isWatch: boolean;
  limit: number | undefined;
  continueToken: string | undefined;
  labelSelector: string | undefined;
  fieldSelector: string | undefined;
  resourceVersion: string | undefined;
  resourceVersionMatch: 'Exact' | 'NotOlderThan' | undefined;
  allowWatchBookmarks: boolean;
  timeoutSeconds: number | undefined;
  sendInitialEvents: boolean | undefined;
}

function flag(params: URLSearchParams, name: string): boolean | undefined {
  const value = params.get(name);
  if (value === null) return undefined;
  if (value === '' || value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw badRequest(`invalid value for ${name}: "${value}" (must be true or false)`);
}

function integer(params: URLSearchParams, name: string): number | undefined {
  const value = params.get(name);
  if (value === null || value === '') return undefined;
  if (!/^-?\d+$/.test(value)) throw badRequest(`invalid value for ${name}: "${value}" (must be an integer)`);
  return Number(value);
}

/**
 * Parses and validates list/watch options with the API server's own rules, e.g. `continue` with a
 * resourceVersion is a 400 and `sendInitialEvents` needs `resourceVersionMatch=NotOlderThan`.
 */
export function parseListQuery(params: URLSearchParams): ListQuery {
  const isWatch = flag(params, 'watch') ?? false;
  const limit = integer(params, 'limit');
  const continueToken = params.get('continue') || undefined;
  const resourceVersion = params.get('resourceVersion') ?? undefined;
  const rvMatch = params.get('resourceVersionMatch') || undefined;
  if (rvMatch !== undefined && rvMatch !== 'Exact' && rvMatch !== 'NotOlderThan') {
    throw badRequest(
      `resourceVersionMatch: Unsupported value: "${rvMatch}": supported values: "Exact", "NotOlderThan"`,
    );
  }
  const sendInitialEvents = flag(params, 'sendInitialEvents');
  const query: ListQuery = {
    isWatch,
    limit: limit !== undefined && limit > 0 ? limit : undefined,
    continueToken,
    labelSelector: params.get('labelSelector') || undefined,
    fieldSelector: params.get('fieldSelector') || undefined,
    resourceVersion: resourceVersion === '' ? undefined : resourceVersion,
    resourceVersionMatch: rvMatch,
    allowWatchBookmarks: flag(params, 'allowWatchBookmarks') ?? false,
    timeoutSeconds: integer(params, 'timeoutSeconds'),
    sendInitialEvents,
  };
  if (query.resourceVersion !== undefined) parseResourceVersion(query.resourceVersion);
  return validate(query);
}

function validate(q: ListQuery): ListQuery {
  if (q.continueToken && q.resourceVersion !== undefined && q.resourceVersion !== '0' && !q.isWatch) {
    throw badRequest('specifying resource version is not allowed when using continue');
  }
  if (q.resourceVersionMatch !== undefined && q.isWatch && q.sendInitialEvents === undefined) {
    throw badRequest('resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided');
  }
  if (q.resourceVersionMatch !== undefined && q.resourceVersion === undefined && !q.isWatch) {
    throw badRequest('resourceVersionMatch is forbidden unless resourceVersion is provided');
  }
  if (q.resourceVersionMatch === 'Exact' && q.resourceVersion === '0') {
    throw badRequest('resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
  }
  if (q.sendInitialEvents !== undefined) {
    if (!q.isWatch) throw badRequest('sendInitialEvents is forbidden for list');
    if (q.resourceVersionMatch !== 'NotOlderThan') {
      throw badRequest('sendInitialEvents requires setting resourceVersionMatch to NotOlderThan');
    }
    if (q.sendInitialEvents && !q.allowWatchBookmarks) {
      throw badRequest('sendInitialEvents requires setting allowWatchBookmarks to true');
    }
  }
  return q;
}

/** Parses a resourceVersion the client sent; the simulator's are decimal integers, opaque to clients. */
export function parseResourceVersion(value: string): number {
  if (!/^\d+$/.test(value)) throw badRequest(`invalid resource version: "${value}"`);
  return Number(value);
}

/** A decoded continue token: the list's resourceVersion and the key to start after. */
export interface ContinueToken {
  rv: number;
  start: string;
}

/** Encodes a continue token as upstream does: base64url of `{"v":"meta.k8s.io/v1","rv":N,"start":"key"}`. */
export function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url');
}

/** Decodes a continue token, or throws the API server's 400 for a malformed one. */
export function decodeContinue(token: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      (parsed as { v?: unknown }).v === 'meta.k8s.io/v1' &&
      typeof (parsed as { rv?: unknown }).rv === 'number' &&
      typeof (parsed as { start?: unknown }).start === 'string'
    ) {
      return { rv: (parsed as { rv: number }).rv, start: (parsed as { start: string }).start };
    }
  } catch {
    // fall through to the error below
  }
  throw badRequest(
    'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
  );
}
