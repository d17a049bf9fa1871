import type { AnyRule } from '../rule.js';
import { nodeFilesystem } from './node-filesystem/index.js';
import { nodeNotReady } from './node-not-ready/index.js';
import { nodePressure } from './node-pressure/index.js';
import { pvcFilling } from './pvc-filling/index.js';

/** The built-in rules of this group, in catalog order (one folder per rule, one line here). */
export const NODES_RULES: readonly AnyRule[] = [nodeNotReady, nodePressure, nodeFilesystem, pvcFilling];
