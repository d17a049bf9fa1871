import type { AnyRule } from '../rule.js';
import { cronjobFailing } from './cronjob-failing/index.js';
import { placementSkew } from './placement-skew/index.js';
import { podsUnschedulable } from './pods-unschedulable/index.js';

/** The built-in rules of this group, in catalog order (one folder per rule, one line here). */
export const SCHEDULING_RULES: readonly AnyRule[] = [podsUnschedulable, placementSkew, cronjobFailing];
