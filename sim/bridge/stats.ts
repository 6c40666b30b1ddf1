/**
 * Latency bookkeeping: exact percentiles over kept samples (sim/math/stats.ts's one rank rule: R-7, linear
 * interpolation), bounded memory.
 */
import { percentile } from '../math/stats.ts';

export interface LatencySummary { p50: number; p95: number; p99: number; max: number; n: number }

export class Percentiles {
  private samples: number[] = [];
  /** Keeps the first `cap` samples (a run long enough to exceed it reports on its first `cap` periods). */
  constructor(private readonly cap = 1_000_000) {}

  add(v: number): void {
    if (this.samples.length < this.cap && Number.isFinite(v)) this.samples.push(v);
  }

  get count(): number { return this.samples.length; }

  values(): readonly number[] { return this.samples; }

  summary(): LatencySummary {
    return summarize(this.samples);
  }
}

/** p50/p95/p99 (`percentile`, R-7) and max, rounded to microseconds (values in ms). Zeros when empty. */
export function summarize(xs: readonly number[]): LatencySummary {
  if (xs.length === 0) return { p50: 0, p95: 0, p99: 0, max: 0, n: 0 };
  const s = [...xs].sort((a, b) => a - b); // sorted once; percentile's own sort of sorted input is linear (TimSort)
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return { p50: r(percentile(s, 0.5)), p95: r(percentile(s, 0.95)), p99: r(percentile(s, 0.99)), max: r(s[s.length - 1]!), n: s.length };
}
