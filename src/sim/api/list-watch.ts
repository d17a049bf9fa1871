import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KObject } from '../model.js';
import { parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.js';
import { readField, storageOf, type ResourceType } from './resources.js';
import type { Change, ListSnapshot, Store } from './store.js';
import { compareKeys, objectKey } from './store.js';
import { ApiError, badRequest, continueExpired, tooOldResourceVersion, type Status } from './status.js';
import { decodeContinue, encodeContinue, parseResourceVersion, type ListQuery } from './query.js';
import { tableRow, withKind, type IncludeObject, type Printer } from './table.js';

/** How a collection is rendered: plain JSON, or a server-side Table. */
export type Rendering = { kind: 'json' } | { kind: 'table'; printer: Printer; include: IncludeObject };

/** One collection request (list or watch) after routing. */
export interface CollectionRequest {
  resource: ResourceType;
  namespace: string | undefined;
  query: ListQuery;
  rendering: Rendering;
}

/** What list and watch need from the server around them. */
export interface CollectionContext {
  store: Store;
  /** Simulated now, in epoch milliseconds (for Table ages). */
  now(): number;
  /** Real now, in milliseconds (for continue-token lifetimes). */
  realNow(): number;
  /** Longest watch the server allows, in real seconds (the server picks 30–60 min otherwise). */
  maxWatchSeconds: number | undefined;
  /** Real milliseconds between bookmarks on watches that asked for them. */
  bookmarkIntervalMs: number;
  /** Bytes a watcher may fall behind before the server drops it, as the real one drops slow watchers. */
  maxWatchBufferBytes: number;
  watches: WatchRegistry;
}

/** A predicate over stored objects built from namespace, label and field selectors. */
export function compileFilter(req: CollectionRequest): {
  matches(o: KObject): boolean;
  hasSelector: boolean;
} {
  const { resource, namespace, query } = req;
  let labels;
  let fields;
  try {
    labels = query.labelSelector ? parseLabelSelector(query.labelSelector) : undefined;
    const supported = ['metadata.name', 'metadata.namespace', ...(resource.fields ?? [])];
    fields = query.fieldSelector
      ? parseFieldSelector(query.fieldSelector, supported, resource.plural, readField)
      : undefined;
  } catch (error) {
    if (error instanceof SelectorError) throw badRequest(error.message);
    throw error;
  }
  const convert = resource.fromStorage;
  return {
    hasSelector: labels !== undefined || fields !== undefined,
    matches(o) {
      if (namespace !== undefined && o.metadata.namespace !== namespace) return false;
      if (labels && !labels.matches(o.metadata.labels)) return false;
      if (fields && !fields.matches(convert ? convert(o) : o)) return false;
      return true;
    },
  };
}

function listKind(resource: ResourceType): string {
  return `${resource.kind}List`;
}

function apiVersionOf(resource: ResourceType): string {
  return resource.group === '' ? resource.version : `${resource.group}/${resource.version}`;
}

/** Finds the first index whose key is ≥ `start` in a sorted key array. */
function lowerBound(keys: readonly string[], start: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareKeys(keys[mid]!, start) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The 504 for a resourceVersion the store has not reached; the cause is what client-go checks for. */
function tooLargeResourceVersion(wanted: number, current: number): ApiError {
  return new ApiError(504, 'Timeout', `Timeout: Too large resource version: ${wanted}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  });
}

/** Picks the snapshot a list reads, following the resourceVersion rules of the real API server. */
function chooseSnapshot(
  ctx: CollectionContext,
  req: CollectionRequest,
): { snap: ListSnapshot; limit?: number } {
  const { query } = req;
  const storage = storageOf(req.resource);
  const current = ctx.store.resourceVersion;
  if (query.continueToken) {
    const token = decodeContinue(query.continueToken);
    // rv -1 is the token a 410 hands out: continue from the latest state, accepting an inconsistent list.
    const snap =
      token.rv === -1
        ? ctx.store.snapshot(storage, ctx.realNow())
        : ctx.store.findSnapshot(storage, token.rv, ctx.realNow());
    if (!snap) throw continueExpired(encodeContinue(-1, token.start));
    return query.limit === undefined ? { snap } : { snap, limit: query.limit };
  }
  const rv = query.resourceVersion;
  if (rv === '0') {
    // "Any": served from the watch cache, which in 1.32 ignores `limit` and returns everything.
    return { snap: ctx.store.snapshot(storage, ctx.realNow()) };
  }
  if (rv !== undefined) {
    const wanted = parseResourceVersion(rv);
    if (wanted > current) throw tooLargeResourceVersion(wanted, current);
    const isExact =
      query.resourceVersionMatch === 'Exact' ||
      (query.resourceVersionMatch === undefined && query.limit !== undefined);
    if (isExact) {
      const snap = ctx.store.snapshotAt(storage, wanted, ctx.realNow());
      if (!snap) throw new ApiError(410, 'Expired', 'The resourceVersion for the provided list is too old.');
      return query.limit === undefined ? { snap } : { snap, limit: query.limit };
    }
  }
  const snap = ctx.store.snapshot(storage, ctx.realNow());
  return query.limit === undefined ? { snap } : { snap, limit: query.limit };
}

/** Serves a list, streaming items so that no response is ever built as one string. */
export function serveList(ctx: CollectionContext, req: CollectionRequest, res: ServerResponse): void {
  const filter = compileFilter(req);
  const { snap, limit } = chooseSnapshot(ctx, req);
  const { keys, objects } = snap;
  let index = 0;
  if (req.query.continueToken) index = lowerBound(keys, decodeContinue(req.query.continueToken).start);
  else if (req.namespace !== undefined && req.resource.namespaced)
    index = lowerBound(keys, `${req.namespace}/`);
  const page: KObject[] = [];
  let next = index;
  const prefix = req.namespace !== undefined && req.resource.namespaced ? `${req.namespace}/` : undefined;
  for (; next < keys.length; next++) {
    if (prefix && !keys[next]!.startsWith(prefix)) {
      next = keys.length;
      break;
    }
    const o = objects[next]!;
    if (!filter.matches(o)) continue;
    if (limit !== undefined && page.length >= limit) break;
    page.push(o);
  }
  const metadata: Record<string, unknown> = { resourceVersion: String(snap.rv) };
  let hasMore = next < keys.length;
  if (hasMore && prefix) hasMore = keys[next]!.startsWith(prefix);
  if (hasMore && page.length > 0) {
    const last = page[page.length - 1]!;
    metadata.continue = encodeContinue(
      snap.rv,
      `${objectKey(last.metadata.namespace, last.metadata.name)}\u0000`,
    );
    if (!filter.hasSelector) {
      let remaining = keys.length - next;
      if (prefix) remaining = lowerBound(keys, `${req.namespace}0`) - next; // '0' sorts right after '/'
      metadata.remainingItemCount = remaining;
    }
  }
  writeCollection(ctx, req, res, metadata, page);
}

const CHUNK_BYTES = 256 * 1024;

function writeCollection(
  ctx: CollectionContext,
  req: CollectionRequest,
  res: ServerResponse,
  metadata: Record<string, unknown>,
  items: readonly KObject[],
): void {
  const { resource, rendering } = req;
  const convert = resource.fromStorage ?? ((o: KObject) => o);
  res.writeHead(200, { 'Content-Type': 'application/json' });
  let buffer: string;
  let itemText: (o: KObject) => string;
  if (rendering.kind === 'table') {
    const now = ctx.now();
    buffer = `{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":${JSON.stringify(metadata)},"columnDefinitions":${JSON.stringify(rendering.printer.columns)},"rows":[`;
    itemText = (o) =>
      JSON.stringify(tableRow(rendering.printer, resource, convert(o), now, rendering.include));
  } else {
    buffer = `{"kind":"${listKind(resource)}","apiVersion":"${apiVersionOf(resource)}","metadata":${JSON.stringify(metadata)},"items":[`;
    itemText = (o) => JSON.stringify(convert(o));
  }
  for (let i = 0; i < items.length; i++) {
    buffer += (i > 0 ? ',' : '') + itemText(items[i]!);
    if (buffer.length >= CHUNK_BYTES) {
      res.write(buffer);
      buffer = '';
    }
  }
  res.end(`${buffer}]}`);
}

/** Serves a single object (GET by name). */
export function renderObject(
  ctx: CollectionContext,
  resource: ResourceType,
  rendering: Rendering,
  stored: KObject,
): string {
  const object = resource.fromStorage ? resource.fromStorage(stored) : stored;
  if (rendering.kind === 'table') {
    return JSON.stringify({
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { resourceVersion: object.metadata.resourceVersion },
      columnDefinitions: rendering.printer.columns,
      rows: [tableRow(rendering.printer, resource, object, ctx.now(), rendering.include)],
    });
  }
  return JSON.stringify(withKind(object, resource));
}

/** An open watch, as the registry tracks it. */
export interface ActiveWatch {
  readonly resource: ResourceType;
  readonly namespace: string | undefined;
  readonly startedAtReal: number;
  /** Sends an ERROR event with this status, then closes the stream. */
  fail(status: Status): void;
  /** Ends the stream as a server-side timeout would. */
  close(): void;
  /** Drops the connection without a clean end (API server crash). */
  destroy(): void;
  /**
   * Goes silent without closing, as behind a half-open connection or a stuck proxy: no more events
   * and no bookmarks; the stream ends only when its timeout passes or the client gives up.
   */
  stall(): void;
  /** Writes raw text into the stream (a malformed line, for client robustness tests). */
  inject(text: string): void;
}

/** The set of open watches, so faults and tests can reach them. */
export class WatchRegistry {
  private readonly active = new Set<ActiveWatch>();
  private waiters: { plural: string; resolve: () => void }[] = [];
  /** Total watches ever opened, per resource plural. */
  readonly opened = new Map<string, number>();

  add(w: ActiveWatch): void {
    this.active.add(w);
    this.opened.set(w.resource.plural, (this.opened.get(w.resource.plural) ?? 0) + 1);
    const ready = this.waiters.filter((x) => x.plural === w.resource.plural);
    this.waiters = this.waiters.filter((x) => x.plural !== w.resource.plural);
    for (const x of ready) x.resolve();
  }

  remove(w: ActiveWatch): void {
    this.active.delete(w);
  }

  /** The open watches. */
  list(): ActiveWatch[] {
    return [...this.active];
  }

  /** Resolves when a watch on `plural` opens (at once if one is open). */
  whenWatching(plural: string): Promise<void> {
    if ([...this.active].some((w) => w.resource.plural === plural)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ plural, resolve }));
  }
}

/** Serves a watch: replays history or initial state, then streams changes until timeout or error. */
export function serveWatch(
  ctx: CollectionContext,
  req: CollectionRequest,
  httpReq: IncomingMessage,
  res: ServerResponse,
): void {
  const { resource, query, rendering } = req;
  const filter = compileFilter(req);
  const storage = storageOf(resource);
  const convert = resource.fromStorage ?? ((o: KObject) => o);
  const viewKey = `${resource.group}/${resource.version}/${rendering.kind === 'table' ? `table:${rendering.include}` : 'json'}`;
  let hasSentHeaders = false;
  let isClosed = false;

  const rv = query.resourceVersion;
  const wantsInitial =
    query.sendInitialEvents === true ||
    ((rv === undefined || rv === '0') && query.sendInitialEvents !== false);
  let replay: Change[] = [];
  if (!wantsInitial && rv !== undefined && rv !== '0') {
    const wanted = parseResourceVersion(rv);
    const history = ctx.store.historySince(storage, wanted);
    if (history.kind === 'future') throw tooLargeResourceVersion(wanted, history.current);
    if (history.kind === 'expired') {
      // An expired resourceVersion is an ERROR event on a 200 stream, then the stream closes.
      res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
      // Upstream names the last compacted resourceVersion (`oldest-1`), not the oldest one still kept.
      res.end(
        `${JSON.stringify({ type: 'ERROR', object: tooOldResourceVersion(wanted, history.oldest - 1).toStatus() })}\n`,
      );
      return;
    }
    replay = history.changes;
  }

  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();

  const encodeObject = (object: KObject, rvText: string): string => {
    if (rendering.kind === 'json') return JSON.stringify(withKind(object, resource));
    const row = tableRow(rendering.printer, resource, object, ctx.now(), rendering.include);
    const columns = hasSentHeaders ? 'null' : JSON.stringify(rendering.printer.columns);
    hasSentHeaders = true;
    return `{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"${rvText}"},"columnDefinitions":${columns},"rows":[${JSON.stringify(row)}]}`;
  };

  let isStalled = false;
  const send = (line: string): void => {
    if (isClosed || isStalled) return;
    res.write(line);
    if (res.writableLength > ctx.maxWatchBufferBytes) {
      // The real API server drops watchers that cannot keep up instead of buffering without bound.
      stop();
      res.destroy();
    }
  };

  const sendChange = (
    type: 'ADDED' | 'MODIFIED' | 'DELETED',
    change: Change | undefined,
    object: KObject,
  ): void => {
    if (rendering.kind === 'table' && !hasSentHeaders) {
      send(`{"type":"${type}","object":${encodeObject(convert(object), object.metadata.resourceVersion)}}\n`);
      return;
    }
    if (change) {
      // Serialize once per event and view; every watcher of the same view shares the text.
      const cacheKey = `${type}|${viewKey}`;
      change.cache ??= new Map();
      let text = change.cache.get(cacheKey);
      if (text === undefined) {
        text = `{"type":"${type}","object":${encodeObject(convert(object), object.metadata.resourceVersion)}}\n`;
        change.cache.set(cacheKey, text);
      }
      send(text);
      return;
    }
    send(`{"type":"${type}","object":${encodeObject(convert(object), object.metadata.resourceVersion)}}\n`);
  };

  const deliver = (change: Change): void => {
    const isNow = filter.matches(change.object);
    if (change.type === 'ADDED') {
      if (isNow) sendChange('ADDED', change, change.object);
    } else if (change.type === 'DELETED') {
      if (isNow) sendChange('DELETED', change, change.object);
    } else {
      const wasBefore = change.previous !== undefined && filter.matches(change.previous);
      if (isNow && wasBefore) sendChange('MODIFIED', change, change.object);
      else if (isNow) sendChange('ADDED', change, change.object);
      else if (wasBefore) sendChange('DELETED', change, change.object);
    }
  };

  const bookmark = (annotations?: Record<string, string>): void => {
    const rvText = String(ctx.store.resourceVersion);
    const metadata: Record<string, unknown> = { resourceVersion: rvText, creationTimestamp: null };
    if (annotations) metadata.annotations = annotations;
    const object =
      rendering.kind === 'table'
        ? {
            kind: 'Table',
            apiVersion: 'meta.k8s.io/v1',
            metadata: { resourceVersion: rvText },
            columnDefinitions: null,
            rows: [],
          }
        : { kind: resource.kind, apiVersion: apiVersionOf(resource), metadata };
    send(`${JSON.stringify({ type: 'BOOKMARK', object })}\n`);
  };

  // Subscribe before replaying: everything runs on one thread, so nothing can slip in between.
  const unsubscribe = ctx.store.subscribe(storage, deliver);
  if (wantsInitial) {
    const snap = ctx.store.snapshot(storage, ctx.realNow());
    for (const o of snap.objects) if (filter.matches(o)) sendChange('ADDED', undefined, o);
    if (query.sendInitialEvents === true) bookmark({ 'k8s.io/initial-events-end': 'true' });
  } else {
    for (const change of replay) deliver(change);
  }

  // The real server picks 30–60 min when the client gives no timeout; a test server may cap it.
  let seconds = query.timeoutSeconds ?? 1800 * (1 + Math.random());
  if (ctx.maxWatchSeconds !== undefined) seconds = Math.min(seconds, ctx.maxWatchSeconds);
  const timeout = setTimeout(() => watch.close(), Math.max(0, seconds) * 1000);
  const bookmarks = query.allowWatchBookmarks
    ? setInterval(() => bookmark(), ctx.bookmarkIntervalMs)
    : undefined;

  function stop(): void {
    if (isClosed) return;
    isClosed = true;
    unsubscribe();
    clearTimeout(timeout);
    if (bookmarks) clearInterval(bookmarks);
    ctx.watches.remove(watch);
  }

  const watch: ActiveWatch = {
    resource,
    namespace: req.namespace,
    startedAtReal: ctx.realNow(),
    fail(status) {
      send(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      stop();
      res.end();
    },
    close() {
      stop();
      res.end();
    },
    destroy() {
      stop();
      res.destroy();
    },
    stall() {
      isStalled = true;
    },
    inject(text) {
      if (!isClosed) res.write(text);
    },
  };
  ctx.watches.add(watch);
  httpReq.on('close', stop);
  res.on('close', stop);
}
