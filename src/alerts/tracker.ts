import { fingerprintOf, type Finding, type Level } from '../domain/index.js';

/** Where an alert is in its life. */
export type AlertState = 'pending' | 'firing' | 'resolved';

/** A finding tracked over time. */
export interface Alert {
  readonly fingerprint: string;
  state: AlertState;
  level: Level;
  /** The latest finding. */
  finding: Finding;
  /** Since when the problem exists (the object's own `since` when it is older than the first sighting). */
  pendingSince: number;
  firingSince: number | undefined;
  resolvedAt: number | undefined;
  lastSeenAt: number;
  /** When the finding stopped being reported while firing (the alert resolves after a quiet period). */
  missingSince: number | undefined;
  readonly levelHistory: { level: Level; at: number }[];
  /** Times it resolved and came back (flapping damps its resolution). */
  flaps: number;
}

/** A change worth telling someone about. */
export interface AlertTransition {
  readonly type: 'firing' | 'escalated' | 'deescalated' | 'resolved';
  readonly alert: Alert;
  readonly at: number;
  /** For level changes, the level before. */
  readonly previousLevel?: Level;
}

/**
 * An alert to take back after a restart, as the store keeps it (a `StoredAlert` fits as it is). Without
 * `levelHistory`, the history starts with the stored level.
 */
export interface RestorableAlert {
  readonly fingerprint: string;
  readonly state: AlertState;
  readonly level: Level;
  readonly finding: Finding;
  readonly pendingSince: number;
  readonly firingSince?: number | undefined;
  readonly resolvedAt?: number | undefined;
  readonly lastSeenAt: number;
  readonly missingSince?: number | undefined;
  readonly flaps?: number | undefined;
  readonly levelHistory?: readonly { level: Level; at: number }[] | undefined;
}

/** Options of the tracker. */
export interface TrackerOptions {
  /** How long a rule's finding must persist before it fires (the rule's `for`). */
  forMs(ruleId: string): number;
  /** A firing alert resolves after its finding has been absent this long (damps flapping). */
  resolveAfterMs: number;
  /** Each flap (resolved and back within an hour) multiplies the quiet period needed, up to this factor. */
  maxFlapFactor: number;
}

/**
 * Findings over time become alerts: pending until the rule's `for` has passed (counted from the
 * problem's own start when the objects tell it), firing, then resolved after a quiet period. An alert
 * is identified by its fingerprint (rule, object, key), so a level change is the same alert escalating,
 * not a second alert; an alert that comes back soon after resolving is flapping, and needs longer
 * quiet to resolve again.
 */
export class AlertTracker {
  private readonly alerts = new Map<string, Alert>();
  private readonly options: TrackerOptions;

  constructor(options: Partial<TrackerOptions> & Pick<TrackerOptions, 'forMs'>) {
    this.options = { resolveAfterMs: 60_000, maxFlapFactor: 8, ...options };
  }

  /** The pending and firing alerts. */
  active(): Alert[] {
    return [...this.alerts.values()].filter((a) => a.state !== 'resolved');
  }

  /** The firing alerts. */
  firing(): Alert[] {
    return [...this.alerts.values()].filter((a) => a.state === 'firing');
  }

  /** One alert by fingerprint. */
  get(fingerprint: string): Alert | undefined {
    return this.alerts.get(fingerprint);
  }

  /**
   * Takes back alerts kept across a restart (before the first `update`), with their timers: a pending
   * alert keeps its `pendingSince`, so it fires when its `for` has passed since then, not `for` after the
   * restart; a firing alert stays firing, and the next `update` that still finds it emits nothing. Nobody
   * watched while the monitor was down, so a firing alert counts as missing since it was last seen (its
   * stored `missingSince` when it was already missing): when the next `update` does not find it, it
   * resolves once that absence reaches the quiet period (at once after a downtime longer than that),
   * and a sighting clears it as usual. Resolved alerts are kept only to recognise a flap. An alert the
   * tracker already has (by fingerprint) is left as it is. Returns the alerts taken.
   */
  restore(alerts: readonly RestorableAlert[]): Alert[] {
    const taken: Alert[] = [];
    for (const r of alerts) {
      if (this.alerts.has(r.fingerprint)) continue;
      const alert: Alert = {
        fingerprint: r.fingerprint,
        state: r.state,
        level: r.level,
        finding: r.finding,
        pendingSince: r.pendingSince,
        firingSince: r.state === 'pending' ? undefined : (r.firingSince ?? r.pendingSince),
        resolvedAt: r.state === 'resolved' ? (r.resolvedAt ?? r.lastSeenAt) : undefined,
        lastSeenAt: r.lastSeenAt,
        missingSince: r.state === 'firing' ? (r.missingSince ?? r.lastSeenAt) : undefined,
        levelHistory:
          r.levelHistory && r.levelHistory.length > 0
            ? r.levelHistory.map((h) => ({ level: h.level, at: h.at }))
            : [{ level: r.level, at: r.pendingSince }],
        flaps: r.flaps ?? 0,
      };
      this.alerts.set(alert.fingerprint, alert);
      taken.push(alert);
    }
    return taken;
  }

  /** Applies one evaluation's findings at `now`; returns what changed. */
  update(findings: readonly Finding[], now: number): AlertTransition[] {
    const transitions: AlertTransition[] = [];
    const seen = new Set<string>();
    for (const finding of findings) {
      const fingerprint = fingerprintOf(finding);
      seen.add(fingerprint);
      let alert = this.alerts.get(fingerprint);
      if (!alert || alert.state === 'resolved') {
        const isFlap = alert?.resolvedAt !== undefined && now - alert.resolvedAt < 3_600_000;
        alert = {
          fingerprint,
          state: 'pending',
          level: finding.level,
          finding,
          pendingSince: Math.min(now, finding.since ?? now),
          firingSince: undefined,
          resolvedAt: undefined,
          lastSeenAt: now,
          missingSince: undefined,
          levelHistory: [{ level: finding.level, at: now }],
          flaps: isFlap ? (alert?.flaps ?? 0) + 1 : 0,
        };
        this.alerts.set(fingerprint, alert);
      }
      alert.finding = finding;
      alert.lastSeenAt = now;
      alert.missingSince = undefined;
      if (alert.state === 'pending' && now - alert.pendingSince >= this.options.forMs(finding.ruleId)) {
        alert.state = 'firing';
        alert.firingSince = now;
        alert.level = finding.level;
        transitions.push({ type: 'firing', alert, at: now });
        continue;
      }
      if (alert.level !== finding.level) {
        const previousLevel = alert.level;
        alert.level = finding.level;
        alert.levelHistory.push({ level: finding.level, at: now });
        if (alert.state === 'firing') {
          transitions.push({
            type: rank(finding.level) > rank(previousLevel) ? 'escalated' : 'deescalated',
            alert,
            at: now,
            previousLevel,
          });
        }
      }
    }
    for (const alert of this.alerts.values()) {
      if (seen.has(alert.fingerprint) || alert.state === 'resolved') continue;
      if (alert.state === 'pending') {
        // It never fired: nobody was told, so it just goes.
        this.alerts.delete(alert.fingerprint);
        continue;
      }
      alert.missingSince ??= now;
      const factor = Math.min(this.options.maxFlapFactor, 2 ** alert.flaps);
      if (now - alert.missingSince >= this.options.resolveAfterMs * factor) {
        alert.state = 'resolved';
        alert.resolvedAt = now;
        transitions.push({ type: 'resolved', alert, at: now });
      }
    }
    // Forget resolved alerts after a day (their history is the store's job).
    for (const [fp, alert] of this.alerts) {
      if (alert.state === 'resolved' && alert.resolvedAt !== undefined && now - alert.resolvedAt > 86_400_000)
        this.alerts.delete(fp);
    }
    return transitions;
  }
}

function rank(level: Level): number {
  return level === 'alert' ? 2 : level === 'notice' ? 1 : 0;
}
