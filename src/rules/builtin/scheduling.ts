import type { AnyRule } from '../rule.js';

/** The built-in rules of this group, in catalog order (one folder per rule, one line here). */
export const SCHEDULING_RULES: readonly AnyRule[] = [];
