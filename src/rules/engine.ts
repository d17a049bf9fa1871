import type { ClusterView } from '../cluster/index.js';
import type { Finding, Level } from '../domain/index.js';
import { classify, type ClassificationConfig } from './classification.js';
import type { AnyRule, CommonRuleConfig, Rule, RuleContext } from './rule.js';
import { SampleStore } from './samples.js';
import { scopePredicate } from './scope.js';

/** One rule with its resolved configuration. */
export interface ConfiguredRule {
  readonly rule: AnyRule;
  readonly common: CommonRuleConfig;
  readonly options: unknown;
}

/** What one evaluation produced. */
export interface Evaluation {
  readonly at: number;
  readonly findings: Finding[];
  /** Rules that threw: their findings are missing from this evaluation (never the whole run). */
  readonly errors: { ruleId: string; message: string }[];
  /** Milliseconds each rule took. */
  readonly durations: Map<string, number>;
}

/**
 * Evaluates the configured rules against the view: each enabled rule, in its scope, with its level and
 * options, its own remembered samples, and the classification of cluster components. A rule that
 * throws is reported and skipped; the others still run.
 */
export class RuleEngine {
  private readonly samples = new Map<string, SampleStore>();

  constructor(
    readonly rules: readonly ConfiguredRule[],
    private readonly classification: ClassificationConfig,
  ) {}

  /**
   * Takes over another engine's remembered samples (a config reload builds a new engine; samples do
   * not depend on rule options, so restart baselines and fill rates survive the reload).
   */
  adoptSamples(from: RuleEngine): void {
    for (const [id, store] of from.samples) this.samples.set(id, store);
  }

  /** The rules that are not `off`. */
  get enabled(): ConfiguredRule[] {
    return this.rules.filter((r) => r.common.level !== 'off');
  }

  /** Evaluates every enabled rule (or only `ruleIds`) at `now` (API server clock). */
  evaluate(view: ClusterView, now: number, ruleIds?: ReadonlySet<string>): Evaluation {
    const classification = classify(view, this.classification);
    const findings: Finding[] = [];
    const errors: { ruleId: string; message: string }[] = [];
    const durations = new Map<string, number>();
    for (const c of this.enabled) {
      if (ruleIds && !ruleIds.has(c.rule.id)) continue;
      const started = performance.now();
      try {
        let store = this.samples.get(c.rule.id);
        if (!store) this.samples.set(c.rule.id, (store = new SampleStore()));
        const rule = c.rule as Rule<unknown>;
        if (rule.sample) store.record(rule.sample(view, now), now);
        const ctx: RuleContext<unknown> = {
          view,
          now,
          options: c.options,
          level: c.common.level as Level,
          classification,
          inScope: scopePredicate(c.common.scope),
          samples: store,
        };
        findings.push(...rule.evaluate(ctx));
      } catch (error) {
        errors.push({ ruleId: c.rule.id, message: error instanceof Error ? error.message : String(error) });
      }
      durations.set(c.rule.id, performance.now() - started);
    }
    return { at: now, findings, errors, durations };
  }
}
