import type { AnyRule } from '../rule.js';
import { componentUnavailable } from './component-unavailable/index.js';
import { logAgent } from './log-agent/index.js';

/** The built-in rules of this group, in catalog order (one folder per rule, one line here). */
export const ADDONS_RULES: readonly AnyRule[] = [componentUnavailable, logAgent];
