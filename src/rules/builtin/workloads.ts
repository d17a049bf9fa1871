import type { AnyRule } from '../rule.js';
import { crashloop } from './crashloop/index.js';
import { deploymentReplicas } from './deployment-replicas/index.js';
import { statefulsetReplicas } from './statefulset-replicas/index.js';

/** The built-in rules of this group, in catalog order (one folder per rule, one line here). */
export const WORKLOADS_RULES: readonly AnyRule[] = [crashloop, deploymentReplicas, statefulsetReplicas];
