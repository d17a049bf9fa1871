import type { AnyRule } from '../rule.js';
import { crashloop } from './crashloop/index.js';

/** The built-in rules of this group, in catalog order (one folder per rule, one line here). */
export const WORKLOADS_RULES: readonly AnyRule[] = [crashloop];
