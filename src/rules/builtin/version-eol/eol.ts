/**
 * The bundled, dated end-of-life table of Kubernetes minor versions: upstream, Amazon EKS, Google GKE
 * and Azure AKS. Dates are UTC days (`YYYY-MM-DD`). A date marked `approximate` is a month-level
 * estimate or a planned date that may have moved; the rule says so in its message.
 *
 * Sources (as of the date below):
 * - upstream: kubernetes.io/releases (data/releases/eol.yaml for the past releases, the release pages'
 *   planned "End Of Life Date" for the current ones);
 * - EKS: the EKS user guide's Kubernetes release calendar ("end of standard support", "end of extended
 *   support"), cross-checked with endoflife.date/amazon-eks;
 * - GKE: the GKE release schedule's end of standard support, cross-checked with
 *   endoflife.date/google-kubernetes-engine;
 * - AKS: the AKS Kubernetes release calendar's "End of life" (GA support), which it gives by month only:
 *   every AKS date here is the first day of that month and approximate.
 *
 * Update it with every Kubernetes minor release (about every four months); the README of the rule
 * states the same date.
 */

/** The day this table was last checked against its sources. */
export const EOL_TABLE_AS_OF = '2026-11-27';

/** A date, and whether it is an estimate. */
export interface EolDate {
  readonly date: string;
  readonly isApproximate?: boolean;
}

/** What the table knows of one minor version. */
export interface EolEntry {
  /** Upstream end of life: no more patch releases, security fixes included. */
  readonly upstream: EolDate;
  /** EKS: end of standard support (extended support starts, at extra cost) and of extended support. */
  readonly eks?: { readonly standard: EolDate; readonly extended: EolDate };
  /** GKE: end of standard support (clusters are then auto-upgraded, unless on the Extended channel). */
  readonly gke?: EolDate;
  /** AKS: end of GA support (platform support only afterwards; LTS versions excepted). */
  readonly aks?: EolDate;
}

const approx = (date: string): EolDate => ({ date, isApproximate: true });
const exact = (date: string): EolDate => ({ date });

/** Keyed by `MAJOR.MINOR`. */
export const EOL_TABLE: Readonly<Record<string, EolEntry>> = {
  '1.25': {
    upstream: exact('2023-10-28'),
    eks: { standard: exact('2024-05-01'), extended: exact('2025-05-01') },
    gke: approx('2024-03-30'),
    aks: approx('2024-01-01'),
  },
  '1.26': {
    upstream: exact('2024-02-28'),
    eks: { standard: exact('2024-06-11'), extended: exact('2025-06-11') },
    gke: approx('2024-06-30'),
    aks: approx('2024-03-01'),
  },
  '1.27': {
    upstream: exact('2024-07-16'),
    eks: { standard: exact('2024-07-24'), extended: exact('2025-07-24') },
    gke: approx('2024-07-31'),
    aks: approx('2024-07-01'),
  },
  '1.28': {
    upstream: exact('2024-10-22'),
    eks: { standard: exact('2024-11-26'), extended: exact('2025-11-26') },
    gke: exact('2024-12-31'),
    aks: approx('2025-02-01'),
  },
  '1.29': {
    upstream: exact('2025-02-28'),
    eks: { standard: exact('2025-03-23'), extended: exact('2026-03-23') },
    gke: exact('2025-02-28'),
    aks: approx('2025-03-01'),
  },
  '1.30': {
    upstream: exact('2025-07-15'),
    eks: { standard: exact('2025-07-23'), extended: exact('2026-07-23') },
    gke: exact('2025-07-31'),
    aks: approx('2025-07-01'),
  },
  '1.31': {
    upstream: exact('2025-11-11'),
    eks: { standard: exact('2025-11-26'), extended: exact('2026-11-26') },
    gke: exact('2025-11-30'),
    aks: approx('2025-11-01'),
  },
  '1.32': {
    upstream: exact('2026-02-28'),
    eks: { standard: exact('2026-03-23'), extended: exact('2027-03-23') },
    gke: exact('2026-02-28'),
    aks: approx('2026-03-01'),
  },
  '1.33': {
    // The planned date; the final patch release may have moved it by a few weeks.
    upstream: approx('2026-06-28'),
    eks: { standard: exact('2026-07-29'), extended: exact('2027-07-29') },
    gke: exact('2026-06-30'),
    aks: approx('2026-06-01'),
  },
  '1.34': {
    upstream: approx('2026-10-27'),
    eks: { standard: exact('2026-12-02'), extended: exact('2027-12-02') },
    gke: exact('2026-08-30'),
    aks: approx('2026-11-01'),
  },
  '1.35': {
    upstream: approx('2027-02-28'),
    eks: { standard: exact('2027-03-27'), extended: exact('2028-03-27') },
    gke: approx('2027-02-28'),
    aks: approx('2027-03-01'),
  },
  '1.36': {
    upstream: approx('2027-06-28'),
  },
};

/** The oldest and newest minor versions the table knows (`1.25`, `1.36`). */
export const EOL_TABLE_RANGE = ((): { oldest: number; newest: number } => {
  const minors = Object.keys(EOL_TABLE).map((k) => Number(k.split('.')[1]));
  return { oldest: Math.min(...minors), newest: Math.max(...minors) };
})();
