import type { AnyRule } from '../rule.js';
import { capacityStuck } from './capacity-stuck/index.js';
import { controlPlane } from './control-plane/index.js';
import { monitorBlind } from './monitor-blind/index.js';

/** The built-in rules of this group, in catalog order (one folder per rule, one line here). */
export const CLUSTER_RULES: readonly AnyRule[] = [controlPlane, monitorBlind, capacityStuck];
