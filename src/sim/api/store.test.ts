import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Store, type Change } from './store.js';
import type { KObject } from '../model.js';

const obj = (name: string, ns = 'default', extra: Record<string, unknown> = {}): KObject => ({
  metadata: {
    name,
    namespace: ns,
    uid: `uid-${name}`,
    resourceVersion: '',
    creationTimestamp: '2026-01-01T00:00:00Z',
  },
  ...extra,
});

test('every write bumps one global resourceVersion and stamps it on the object', () => {
  const store = new Store(['pods', 'nodes']);
  const a = store.create('pods', obj('a'));
  const n = store.create('nodes', {
    ...obj('n1'),
    metadata: { ...obj('n1').metadata, namespace: undefined as never },
  });
  const a2 = store.update('pods', { ...a, spec: { x: 1 } } as KObject);
  assert.deepEqual(
    [a.metadata.resourceVersion, n.metadata.resourceVersion, a2.metadata.resourceVersion],
    ['1', '2', '3'],
  );
  assert.equal(store.resourceVersion, 3);
  assert.throws(() => store.create('pods', obj('a')), /already exists/);
});

test('history replays the changes after a resourceVersion and expires once compacted', () => {
  const store = new Store(['pods'], { historySize: 3 });
  for (const name of ['a', 'b', 'c', 'd', 'e']) store.create('pods', obj(name));
  const since = store.historySince('pods', 3);
  assert.equal(since.kind, 'ok');
  assert.deepEqual(since.kind === 'ok' ? since.changes.map((c) => c.object.metadata.name) : [], ['d', 'e']);
  // Only the last 3 events are kept: rv 1 and 2 were compacted away.
  assert.deepEqual(store.historySince('pods', 1), { kind: 'expired', oldest: 3 });
  assert.equal(store.historySince('pods', 2).kind, 'ok');
  assert.deepEqual(store.historySince('pods', 9), { kind: 'future', current: 5 });
  store.compact();
  assert.equal(store.historySince('pods', 4).kind, 'expired');
});

test('snapshotAt rebuilds an older state by undoing later changes', () => {
  const store = new Store(['pods']);
  store.create('pods', obj('a'));
  store.create('pods', obj('b'));
  const rv = store.resourceVersion;
  store.modify('pods', 'default', 'a', (p) => ({ ...p, spec: { changed: true } }) as KObject);
  store.delete('pods', 'default', 'b');
  store.create('pods', obj('c'));
  const snap = store.snapshotAt('pods', rv, 0);
  assert.ok(snap);
  assert.deepEqual(snap.keys, ['default/a', 'default/b']);
  assert.equal((snap.objects[0] as KObject & { spec?: unknown }).spec, undefined);
  assert.deepEqual(store.snapshot('pods', 0).keys, ['default/a', 'default/c']);
});

test('listeners see each change with the previous object', () => {
  const store = new Store(['pods']);
  const seen: Change[] = [];
  const unsubscribe = store.subscribe('pods', (c) => seen.push(c));
  store.create('pods', obj('a'));
  store.modify('pods', 'default', 'a', (p) => ({ ...p, spec: { v: 2 } }) as KObject);
  store.delete('pods', 'default', 'a');
  unsubscribe();
  store.create('pods', obj('z'));
  assert.deepEqual(
    seen.map((c) => c.type),
    ['ADDED', 'MODIFIED', 'DELETED'],
  );
  assert.equal(seen[1]!.previous?.metadata.resourceVersion, '1');
  assert.equal(seen[2]!.object.metadata.resourceVersion, '3');
});

test('snapshots expire after their time to live (continue tokens then get 410)', () => {
  const store = new Store(['pods'], { continueTtlMs: 1000 });
  store.create('pods', obj('a'));
  const snap = store.snapshot('pods', 0);
  assert.equal(store.findSnapshot('pods', snap.rv, 500), snap);
  assert.equal(store.findSnapshot('pods', snap.rv, 1501), undefined);
});
