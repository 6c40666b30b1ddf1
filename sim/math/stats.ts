/**
 * Statistics shared by evaluation, benchmarks, the robot bridge and the studies — one home, one rule each.
 *
 * - Proportions: `wilson` (Wilson score interval), `rate` (k, n, k/n and its 95% Wilson interval) and `newcombe`
 *   (Newcombe's hybrid Wilson score interval for a difference of two independent proportions, his method 10).
 * - `entropy` of a histogram, in nats.
 * - `percentile` with ONE rank rule for the whole code base: linear interpolation between closest ranks, Hyndman &
 *   Fan's definition 7 (R's default `type = 7`, numpy's default `method = 'linear'`, Excel's `PERCENTILE.INC`).
 * - Seeded bootstraps (percentile method, `Rng` from ./rng.ts): `bootstrapCi` resamples items; `clusterBootstrapCi`
 *   resamples clusters (e.g. training seeds) and then items within each drawn cluster (e.g. the evaluation starts of
 *   that seed), which keeps the pairing of arms measured on the same starts; `pairedRatioCi` is its common use — the
 *   ratio of two arms' success rates.
 *
 * Pure functions of their inputs (a bootstrap is a pure function of its inputs and its seed).
 */
import { Rng } from './rng.ts';

/** z for a two-sided 95% interval (Φ⁻¹(0.975)). */
export const Z95 = 1.959964;

/**
 * Wilson score interval for k successes out of n trials (no continuity correction), clamped to [0, 1].
 * n = 0 gives the uninformative [0, 1].
 */
export function wilson(k: number, n: number, z = Z95): [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n, z2 = z * z, den = 1 + z2 / n;
  const c = (p + z2 / (2 * n)) / den, h = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / den;
  return [Math.max(0, c - h), Math.min(1, c + h)];
}

/** A success count with its rate and 95% Wilson interval. `rate` is 0 when n = 0. */
export interface Rate {
  /** Successes. */
  k: number;
  /** Trials. */
  n: number;
  /** k / n (0 when n = 0). */
  rate: number;
  /** 95% Wilson score interval of the rate. */
  ci95: [number, number];
}

/**
 * The one way Stride prints a success rate with its 95% interval — CLI summaries (eval, rollout, demos, quickstart)
 * and study reports alike: `60.0% (95% CI 31.3–83.2%)`.
 */
export function formatRate(rate: number, ci95: readonly [number, number]): string {
  const p = (x: number) => (x * 100).toFixed(1);
  return `${p(rate)}% (95% CI ${p(ci95[0])}–${p(ci95[1])}%)`;
}

/** k successes out of n as a `Rate` (rate and 95% Wilson interval). */
export function rate(k: number, n: number): Rate {
  return { k, n, rate: n ? k / n : 0, ci95: wilson(k, n) };
}

/**
 * Newcombe's hybrid Wilson score interval for the difference a.rate − b.rate of two independent proportions
 * (Newcombe 1998, "Interval estimation for the difference between independent proportions", method 10), built from
 * each rate's own interval (`a.ci95`, `b.ci95` — 95% Wilson when made by `rate`). Not clamped: the bounds stay
 * within [−1, 1] by construction.
 */
export function newcombe(a: Rate, b: Rate): [number, number] {
  const [l1, u1] = a.ci95, [l2, u2] = b.ci95, d = a.rate - b.rate;
  return [d - Math.sqrt((a.rate - l1) ** 2 + (u2 - b.rate) ** 2), d + Math.sqrt((u1 - a.rate) ** 2 + (b.rate - l2) ** 2)];
}

/** Shannon entropy of a histogram of counts, in nats (0 for an empty histogram; zero counts contribute nothing). */
export function entropy(counts: readonly number[]): number {
  const n = counts.reduce((a, b) => a + b, 0);
  if (!(n > 0)) return 0;
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / n) * Math.log(c / n);
  return h;
}

/**
 * The p-quantile (p in [0, 1]; 0.5 = median, 0.99 = p99) of `values` (sorted or not; not modified), by linear
 * interpolation between closest ranks — Hyndman & Fan definition 7, R's default, numpy's default:
 * with the values sorted ascending x[0..n−1], h = (n − 1)·p, result = x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]).
 * So p = 0 is the minimum, p = 1 the maximum, and the median of an even count is the mean of the middle two.
 * NaN for an empty input; throws for p outside [0, 1].
 */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 1)) throw new Error(`percentile: p must be in [0, 1], got ${p}`);
  const n = values.length;
  if (n === 0) return NaN;
  const s = Array.from(values).sort((a, b) => a - b);
  const h = (n - 1) * p, lo = Math.floor(h), frac = h - lo;
  return lo + 1 < n ? s[lo]! + frac * (s[lo + 1]! - s[lo]!) : s[lo]!;
}

/** Options of the bootstraps. */
export interface BootstrapOptions {
  /** Bootstrap replicates (default 2000). */
  reps?: number;
  /** Seed of the resampling `Rng` (default 0). */
  seed?: number;
  /** Two-sided level: the interval is the (α/2, 1 − α/2) percentile interval (default 0.05 → 95%). */
  alpha?: number;
}

/** A bootstrap interval. */
export interface BootstrapResult {
  /** The statistic on the original sample. */
  estimate: number;
  /** Percentile interval [α/2, 1 − α/2] of the finite replicates (by `percentile`); [NaN, NaN] if none was finite. */
  ci: [number, number];
  /** Replicates whose statistic was finite (the interval's sample). */
  reps: number;
  /** Replicates whose statistic was not finite (e.g. a ratio with a zero denominator) — left out of `ci`. */
  nonFinite: number;
}

function resolve(opts: BootstrapOptions): { reps: number; seed: number; alpha: number } {
  const reps = opts.reps ?? 2000, seed = opts.seed ?? 0, alpha = opts.alpha ?? 0.05;
  if (!(Number.isInteger(reps) && reps > 0)) throw new Error(`bootstrap: reps must be a positive integer, got ${reps}`);
  if (!(alpha > 0 && alpha < 1)) throw new Error(`bootstrap: alpha must be in (0, 1), got ${alpha}`);
  return { reps, seed, alpha };
}

function summarise(estimate: number, stats: number[], nonFinite: number, alpha: number): BootstrapResult {
  const ci: [number, number] = stats.length ? [percentile(stats, alpha / 2), percentile(stats, 1 - alpha / 2)] : [NaN, NaN];
  return { estimate, ci, reps: stats.length, nonFinite };
}

/**
 * Nonparametric bootstrap (percentile method) of `statistic` over n items: each replicate draws n item indices
 * uniformly with replacement (`rng.int(n)`, in order) and calls `statistic(indices)`; `estimate` is the statistic on
 * the identity indices 0…n−1. Deterministic for a seed.
 */
export function bootstrapCi(statistic: (indices: readonly number[]) => number, n: number, opts: BootstrapOptions = {}): BootstrapResult {
  const { reps, seed, alpha } = resolve(opts);
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`bootstrapCi: n must be a positive integer, got ${n}`);
  const rng = new Rng(seed);
  const idx = new Array<number>(n);
  const stats: number[] = [];
  let nonFinite = 0;
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < n; i++) idx[i] = rng.int(n);
    const v = statistic(idx);
    if (Number.isFinite(v)) stats.push(v); else nonFinite++;
  }
  return summarise(statistic(Array.from({ length: n }, (_, i) => i)), stats, nonFinite, alpha);
}

/** One drawn cluster of a cluster bootstrap replicate: which cluster, and which of its items (with repeats). */
export interface ClusterDraw {
  /** Index of the cluster (into the `clusterSizes` given). */
  cluster: number;
  /** Indices of the items within that cluster. */
  items: readonly number[];
}

/**
 * Two-stage (cluster, then items) bootstrap, percentile method. Each replicate draws as many clusters as there are,
 * uniformly with replacement, then for each drawn cluster c as many item indices as it has (`clusterSizes[c]`),
 * uniformly with replacement, and calls `statistic(draws)`. Use it when items are nested in clusters — evaluation
 * starts within training seeds — and for paired comparisons: give the statistic both arms' outcomes on the same
 * (cluster, item), so a replicate keeps the pairing. `estimate` is the statistic on every cluster with all its items.
 * Draw order (for determinism): the cluster indices first, then each drawn cluster's items in draw order.
 */
export function clusterBootstrapCi(statistic: (draws: readonly ClusterDraw[]) => number, clusterSizes: readonly number[], opts: BootstrapOptions = {}): BootstrapResult {
  const { reps, seed, alpha } = resolve(opts);
  const m = clusterSizes.length;
  if (m === 0) throw new Error('clusterBootstrapCi: no clusters');
  for (const s of clusterSizes) if (!(Number.isInteger(s) && s > 0)) throw new Error(`clusterBootstrapCi: cluster sizes must be positive integers, got ${s}`);
  const rng = new Rng(seed);
  const stats: number[] = [];
  let nonFinite = 0;
  for (let r = 0; r < reps; r++) {
    const clusters = Array.from({ length: m }, () => rng.int(m));
    const draws = clusters.map((c) => {
      const size = clusterSizes[c]!;
      return { cluster: c, items: Array.from({ length: size }, () => rng.int(size)) };
    });
    const v = statistic(draws);
    if (Number.isFinite(v)) stats.push(v); else nonFinite++;
  }
  const all = clusterSizes.map((size, c) => ({ cluster: c, items: Array.from({ length: size }, (_, i) => i) }));
  return summarise(statistic(all), stats, nonFinite, alpha);
}

/**
 * Ratio of two arms' success rates, rate(a) / rate(b), measured on the same starts: `a[c][i]` and `b[c][i]` are the
 * outcomes (1/0, or any non-negative score) of arm a and arm b on start i of cluster c (e.g. training seed c). The
 * interval is a `clusterBootstrapCi` (clusters, then starts within, both arms kept paired); replicates with
 * rate(b) = 0 are not finite and are counted in `nonFinite`. `estimate` is Σa / Σb (Infinity or NaN when Σb = 0).
 */
export function pairedRatioCi(a: readonly (readonly number[])[], b: readonly (readonly number[])[], opts: BootstrapOptions = {}): BootstrapResult {
  if (a.length !== b.length) throw new Error(`pairedRatioCi: ${a.length} clusters in a, ${b.length} in b`);
  a.forEach((row, c) => {
    if (row.length !== b[c]!.length) throw new Error(`pairedRatioCi: cluster ${c} has ${row.length} starts in a, ${b[c]!.length} in b`);
  });
  return clusterBootstrapCi((draws) => {
    let sa = 0, sb = 0;
    for (const { cluster, items } of draws) for (const i of items) { sa += a[cluster]![i]!; sb += b[cluster]![i]!; }
    return sa / sb;
  }, a.map((row) => row.length), opts);
}
