/**
 * The judgement vocabulary: levels, the objects findings are about, and findings themselves. Pure
 * types and helpers; imports nothing of ours.
 */

/** How a signal is notified: never, as information in business hours, or by paging on-call at once. */
export type Level = 'none' | 'notice' | 'alert';

/** The levels from least to most urgent. */
export const LEVELS: readonly Level[] = ['none', 'notice', 'alert'];

/** Whether `level` is at least `threshold`. */
export function isAtLeast(level: Level, threshold: Level): boolean {
  return LEVELS.indexOf(level) >= LEVELS.indexOf(threshold);
}

/** The object a finding is about. */
export interface ObjectRef {
  readonly kind: string;
  readonly namespace?: string | undefined;
  readonly name: string;
}

/** `Kind/namespace/name` or `Kind/name`. */
export function refText(ref: ObjectRef): string {
  return ref.namespace ? `${ref.kind}/${ref.namespace}/${ref.name}` : `${ref.kind}/${ref.name}`;
}

/** One piece of evidence: a condition, an event with its count, a restart history, a log line, a measurement. */
export interface Evidence {
  readonly type: 'condition' | 'event' | 'restarts' | 'log' | 'metric' | 'state';
  readonly text: string;
  /** When it was true or last seen (epoch ms, server clock). */
  readonly at?: number | undefined;
}

/** One evaluation result of one rule for one object. */
export interface Finding {
  readonly ruleId: string;
  readonly level: Level;
  readonly object: ObjectRef;
  /** Distinguishes several findings of one rule on one object (e.g. which certificate). */
  readonly key?: string | undefined;
  /** One line: what is wrong. */
  readonly title: string;
  /** The self-healing loop broken or at risk, and what that means for users. */
  readonly loop: string;
  /** What the evidence shows, in a sentence or two. */
  readonly message: string;
  readonly evidence: readonly Evidence[];
  /** What to do next: kubectl commands to run, what usually causes this. */
  readonly nextSteps: readonly string[];
  /** Values the finding rests on (for notification templates and the API). */
  readonly facts: Readonly<Record<string, string | number | boolean>>;
  /**
   * Since when the problem exists according to the objects themselves (a condition's transition, a
   * first event): lets a one-shot check judge a `for` it could not watch.
   */
  readonly since?: number | undefined;
}

/** A stable identity for the problem a finding describes: rule, object and key, not its level. */
export function fingerprintOf(f: Pick<Finding, 'ruleId' | 'object' | 'key'>): string {
  return `${f.ruleId}|${refText(f.object)}${f.key ? `|${f.key}` : ''}`;
}
