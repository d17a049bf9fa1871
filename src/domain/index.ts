export { ERROR_CODES, HealwatchError, type ErrorCode } from './errors.js';
export {
  fingerprintOf,
  isAtLeast,
  LEVELS,
  refText,
  type Evidence,
  type Finding,
  type Level,
  type ObjectRef,
} from './finding.js';
