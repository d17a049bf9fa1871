import type { z } from 'zod';
import type { ClusterView, RecordKind } from '../cluster/index.js';
import type { Finding, Level } from '../domain/index.js';
import type { Classification } from './classification.js';
import type { Samples } from './samples.js';

/** Where a rule applies: namespaces to include or exclude, and a label selector on the object. */
export interface RuleScope {
  /** Only these namespaces (empty: all). */
  namespaces: readonly string[];
  excludeNamespaces: readonly string[];
  /** A label selector (`team=payments,tier!=batch`) the object's labels must match. */
  labelSelector: string | undefined;
}

/** What every rule's configuration has, besides its own thresholds. */
export interface CommonRuleConfig {
  /** The level its findings get, or `off`. */
  level: Level | 'off';
  /** How long the condition must hold before it fires (ms). */
  forMs: number;
  scope: RuleScope;
}

/** What `evaluate` gets. */
export interface RuleContext<O> {
  readonly view: ClusterView;
  /** Now, on the API server's clock (epoch ms). */
  readonly now: number;
  /** The rule's own options (thresholds), defaults applied. */
  readonly options: O;
  readonly level: Level;
  /** Which workloads are cluster components, which DaemonSet is the log agent. */
  readonly classification: Classification;
  /** Whether an object is in the rule's configured scope. */
  inScope(object: {
    namespace?: string | undefined;
    labels?: Readonly<Record<string, string>> | undefined;
  }): boolean;
  /** The series the rule sampled on earlier evaluations (restart baselines, fill rates). */
  readonly samples: Samples;
}

/**
 * One judgement of the catalog: what it guards, its default level and options, and a pure,
 * synchronous `evaluate` from the cluster view and time to findings (same inputs, same findings).
 */
export interface Rule<O = unknown> {
  /** Stable id, kebab-case (`crashloop`, `deployment-replicas`). */
  readonly id: string;
  /** One line: what it reports. */
  readonly summary: string;
  /** The self-healing loop it guards. */
  readonly loop: string;
  /** Why this level by default (shown by `healwatch rules`). */
  readonly rationale: string;
  readonly defaultLevel: Level;
  /** Default `for` (ms): how long a finding must persist before it fires. */
  readonly defaultForMs: number;
  /**
   * What this rule can only judge from its own remembered samples (a baseline, a fill rate), so a
   * one-shot `healwatch check`, which has no history, cannot: said in the check's report.
   */
  readonly needsHistory?: string;
  /** The record kinds whose changes make it re-evaluate (it also runs on every tick). */
  readonly inputs: readonly RecordKind[];
  /** Its own options with defaults (thresholds); validated from the config file. */
  readonly options: z.ZodType<O>;
  /**
   * Values to remember on each evaluation (e.g. restart counts per workload), kept by the engine in
   * bounded series that later evaluations read through `ctx.samples`.
   */
  sample?(view: ClusterView, now: number): Record<string, number>;
  evaluate(ctx: RuleContext<O>): Finding[];
}

/** A rule with its type parameter erased, for registries. */
export type AnyRule = Rule<never> | Rule<unknown>;
