import type { AnyRule } from '../rule.js';
import { ADDONS_RULES } from './addons.js';
import { CLUSTER_RULES } from './cluster.js';
import { LIFECYCLE_RULES } from './lifecycle.js';
import { NODES_RULES } from './nodes.js';
import { PODS_RULES } from './pods.js';
import { SCHEDULING_RULES } from './scheduling.js';
import { USAGE_RULES } from './usage.js';
import { WORKLOADS_RULES } from './workloads.js';

/**
 * Every built-in rule: the catalog, in the order `healwatch rules` and docs/rules.md list it. The
 * config schema, `healwatch rules` and the docs come from it. Each group file lists its rules.
 */
export const BUILTIN_RULES: readonly AnyRule[] = [
  ...CLUSTER_RULES,
  ...ADDONS_RULES,
  ...WORKLOADS_RULES,
  ...PODS_RULES,
  ...SCHEDULING_RULES,
  ...NODES_RULES,
  ...LIFECYCLE_RULES,
  ...USAGE_RULES,
];
