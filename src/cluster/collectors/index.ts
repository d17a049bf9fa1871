import type { AnyCollector } from './collector.js';
import {
  certificateCollector,
  eventCollector,
  leaseCollector,
  namespaceCollector,
  pvcCollector,
} from './misc.js';
import { nodeCollector } from './node.js';
import { podCollector } from './pod.js';
import {
  cronJobCollector,
  daemonSetCollector,
  deploymentCollector,
  jobCollector,
  replicaSetCollector,
  statefulSetCollector,
} from './workloads.js';

export { collectionPath, type AnyCollector, type Collector } from './collector.js';
export { quantity } from './read.js';

/** Every collector, in the order their watches start (cheap, structural kinds first). */
export const COLLECTORS: readonly AnyCollector[] = [
  namespaceCollector,
  nodeCollector,
  leaseCollector,
  deploymentCollector,
  daemonSetCollector,
  statefulSetCollector,
  replicaSetCollector,
  cronJobCollector,
  jobCollector,
  pvcCollector,
  podCollector,
  eventCollector,
  certificateCollector,
];
