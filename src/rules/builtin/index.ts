import type { AnyRule } from '../rule.js';
import { CLUSTER_RULES } from './cluster.js';
import { NODES_RULES } from './nodes.js';
import { WORKLOADS_RULES } from './workloads.js';

/** Every built-in rule: the catalog. The config schema, `healwatch rules` and the docs come from it. */
export const BUILTIN_RULES: readonly AnyRule[] = [...CLUSTER_RULES, ...WORKLOADS_RULES, ...NODES_RULES];
