/**
 * The rule catalog and its engine: rules are pure, synchronous functions of the cluster view and time
 * that return findings, each with exactly one level.
 */
export { BUILTIN_RULES } from './builtin/index.js';
export {
  classify,
  type Classification,
  type ClassificationConfig,
  type WorkloadName,
} from './classification.js';
export { RuleEngine, type ConfiguredRule, type Evaluation } from './engine.js';
export type { AnyRule, CommonRuleConfig, Rule, RuleContext, RuleScope } from './rule.js';
export { SampleStore, type Sample, type Samples } from './samples.js';
export { matchesRequirements, parseSelector, scopePredicate, SelectorSyntaxError } from './scope.js';
