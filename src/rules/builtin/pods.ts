import type { AnyRule } from '../rule.js';
import { imagePull } from './image-pull/index.js';
import { oomKilled } from './oom-killed/index.js';
import { restartSpike } from './restart-spike/index.js';

/** The built-in rules of this group, in catalog order (one folder per rule, one line here). */
export const PODS_RULES: readonly AnyRule[] = [oomKilled, imagePull, restartSpike];
