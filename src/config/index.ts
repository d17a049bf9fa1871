/** The configuration file `healwatch.yaml`: schema built from the rule registry, defaults, validation. */
export { loadConfig, parseConfig, parseDuration, type HealwatchConfig } from './config.js';
