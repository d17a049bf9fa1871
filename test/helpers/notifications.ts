import type { Delivery, NotificationAlert } from '../../src/notify/types.js';

const T0 = Date.parse('2026-11-27T03:12:00Z');

/** A firing Alert about a scheduler that stopped (override any field). */
export function sampleAlert(over: Partial<NotificationAlert> = {}): NotificationAlert {
  return {
    fingerprint: 'control-plane|Pod/kube-system/kube-scheduler-sim-control-plane',
    status: 'firing',
    reason: 'fired',
    level: 'alert',
    ruleId: 'control-plane',
    object: { kind: 'Pod', namespace: 'kube-system', name: 'kube-scheduler-sim-control-plane' },
    title: 'kube-scheduler is not running',
    loop: 'Scheduling: new and replacement pods stay Pending until the scheduler runs again.',
    message: 'The kube-scheduler Lease was last renewed 95 s ago; 3 pods wait for a node.',
    evidence: [
      { type: 'state', text: 'Lease kube-system/kube-scheduler renewed 95 s ago', at: T0 - 95_000 },
      { type: 'event', text: 'Pod shop/cart-7d9f: FailedScheduling x3', at: T0 - 10_000 },
    ],
    nextSteps: [
      'kubectl -n kube-system get pods -l component=kube-scheduler',
      'kubectl -n kube-system logs kube-scheduler-sim-control-plane',
    ],
    facts: { component: 'kube-scheduler' },
    labels: {
      rule: 'control-plane',
      level: 'alert',
      namespace: 'kube-system',
      kind: 'Pod',
      name: 'kube-scheduler-sim-control-plane',
      object: 'Pod/kube-system/kube-scheduler-sim-control-plane',
      key: '',
      cluster: 'sim',
      component: 'kube-scheduler',
    },
    startsAt: T0,
    ...over,
  };
}

/** A firing Notice about a crash-looping container in namespace `shop`. */
export function sampleNotice(over: Partial<NotificationAlert> = {}): NotificationAlert {
  return sampleAlert({
    fingerprint: 'crashloop|Pod/shop/cart-7d9f|app',
    level: 'notice',
    ruleId: 'crashloop',
    object: { kind: 'Pod', namespace: 'shop', name: 'cart-7d9f' },
    key: 'app',
    title: 'Container app of shop/cart-7d9f is crash-looping',
    loop: 'Restart: the kubelet restarts the container, but it keeps failing.',
    message: 'Restarted 6 times in 10 minutes; last exit code 1.',
    evidence: [{ type: 'log', text: 'panic: cannot connect to <db> & retry', at: T0 }],
    nextSteps: ['kubectl -n shop logs cart-7d9f -c app --previous'],
    facts: { pod: 'cart-7d9f', container: 'app' },
    labels: {
      rule: 'crashloop',
      level: 'notice',
      namespace: 'shop',
      kind: 'Pod',
      name: 'cart-7d9f',
      object: 'Pod/shop/cart-7d9f',
      key: 'app',
      cluster: 'sim',
    },
    ...over,
  });
}

/** A delivery of the given alerts (default: one firing Alert). */
export function sampleDelivery(
  alerts: NotificationAlert[] = [sampleAlert()],
  over: Partial<Delivery> = {},
): Delivery {
  return {
    cluster: 'sim',
    groupKey: 'namespace=kube-system',
    groupLabels: { namespace: 'kube-system' },
    alerts,
    idempotencyKey: 'hw-test-0001',
    now: T0 + 60_000,
    ...over,
  };
}
