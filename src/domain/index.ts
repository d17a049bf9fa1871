export { ERROR_CODES, HealwatchError, type ErrorCode } from './errors.js';
