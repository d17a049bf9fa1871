import type { AnyRule } from '../rule.js';
import { certificateExpiry } from './certificate-expiry/index.js';
import { deprecatedApis } from './deprecated-apis/index.js';
import { versionEol } from './version-eol/index.js';

/** The built-in rules of this group, in catalog order (one folder per rule, one line here). */
export const LIFECYCLE_RULES: readonly AnyRule[] = [versionEol, deprecatedApis, certificateExpiry];
