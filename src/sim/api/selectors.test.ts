import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatLabelSelector,
  matchesLabelSelector,
  parseFieldSelector,
  parseLabelSelector,
} from './selectors.js';
import { readField } from './resources.js';

test('label selectors follow the API server grammar', () => {
  const labels = { app: 'web', tier: 'front', 'k8s-app': 'kube-dns' };
  const cases: [string, boolean][] = [
    ['app=web', true],
    ['app==web', true],
    ['app!=web', false],
    ['app=api', false],
    ['tier in (front,back)', true],
    ['tier notin (front)', false],
    ['k8s-app', true],
    ['!k8s-app', false],
    ['!missing', true],
    ['missing!=x', true],
    ['app=web,tier=front', true],
    ['app=web, tier=back', false],
    ['', true],
  ];
  for (const [text, expected] of cases)
    assert.equal(parseLabelSelector(text).matches(labels), expected, text);
  assert.throws(() => parseLabelSelector('app in front'), /expected: '\('/);
  assert.throws(() => parseLabelSelector('app=we b'), /unable to parse requirement/);
});

test('field selectors check the supported fields and compare values', () => {
  const event = {
    metadata: { name: 'e1', namespace: 'shop' },
    involvedObject: { kind: 'Pod', name: 'cart-1' },
    type: 'Warning',
    source: { component: 'kubelet' },
  };
  const supported = [
    'metadata.name',
    'metadata.namespace',
    'involvedObject.kind',
    'involvedObject.name',
    'type',
    'source',
  ];
  const m = (text: string): boolean =>
    parseFieldSelector(text, supported, 'events', readField).matches(event);
  assert.equal(m('involvedObject.name=cart-1,involvedObject.kind=Pod'), true);
  assert.equal(m('type!=Warning'), false);
  assert.equal(m('source=kubelet'), true);
  assert.equal(m('metadata.namespace=default'), false);
  assert.throws(
    () => parseFieldSelector('spec.foo=1', supported, 'events', readField),
    /field label not supported: spec.foo/,
  );
});

test('LabelSelector objects match and print as kubectl shows them', () => {
  const selector = {
    matchLabels: { app: 'web' },
    matchExpressions: [{ key: 'tier', operator: 'In' as const, values: ['a', 'b'] }],
  };
  assert.equal(matchesLabelSelector(selector, { app: 'web', tier: 'a' }), true);
  assert.equal(matchesLabelSelector(selector, { app: 'web', tier: 'c' }), false);
  assert.equal(formatLabelSelector(selector), 'app=web,tier in (a,b)');
});
