import type { AnyRule } from '../rule.js';
import { nodeCount } from './node-count/index.js';
import { nodeUsage } from './node-usage/index.js';
import { podPhases } from './pod-phases/index.js';
import { resourceRequests } from './resource-requests/index.js';

/** The built-in rules of this group, in catalog order (one folder per rule, one line here). */
export const USAGE_RULES: readonly AnyRule[] = [nodeCount, podPhases, nodeUsage, resourceRequests];
