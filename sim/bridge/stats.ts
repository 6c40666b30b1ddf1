/**
 * Latency bookkeeping: exact percentiles over kept samples (nearest-rank), bounded memory.
 */
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

/** Nearest-rank percentiles, rounded to microseconds (values in ms). Zeros when empty. */
export function summarize(xs: readonly number[]): LatencySummary {
  if (xs.length === 0) return { p50: 0, p95: 0, p99: 0, max: 0, n: 0 };
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return { p50: r(q(0.5)), p95: r(q(0.95)), p99: r(q(0.99)), max: r(s[s.length - 1]!), n: s.length };
}
