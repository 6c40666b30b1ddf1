/**
 * sim/math/stats.ts against hand-computed fixtures: Wilson, Newcombe (1998, Table II, method 10), entropy, the R-7
 * percentile rule, and the seeded bootstraps (determinism for a seed, coverage sanity).
 */
import { describe, expect, it } from 'vitest';
import { bootstrapCi, clusterBootstrapCi, entropy, formatRate, newcombe, pairedRatioCi, percentile, rate, wilson } from '../../sim/math/stats.ts';
import { Rng } from '../../sim/math/rng.ts';

describe('wilson', () => {
  it('8/10: p = 0.8, z² = 3.841459, centre 0.99207/1.38415 = 0.71674, half 0.31362/1.38415 = 0.22658', () => {
    const [lo, hi] = wilson(8, 10);
    expect(lo).toBeCloseTo(0.4902, 4);
    expect(hi).toBeCloseTo(0.9433, 4);
  });
  it('0/20: lower bound 0, upper z²/n / (1 + z²/n) = 0.19207/1.19207 = 0.1611', () => {
    const [lo, hi] = wilson(0, 20);
    expect(lo).toBe(0);
    expect(hi).toBeCloseTo(0.1611, 4);
  });
  it('n = 0 is the uninformative [0, 1]; 20/20 reaches 1', () => {
    expect(wilson(0, 0)).toEqual([0, 1]);
    expect(wilson(20, 20)[1]).toBe(1);
    expect(wilson(20, 20)[0]).toBeCloseTo(1 - 0.1611, 4);
  });
  it('rate() carries k, n, k/n and the Wilson interval; rate 0 when n = 0', () => {
    expect(rate(8, 10)).toEqual({ k: 8, n: 10, rate: 0.8, ci95: wilson(8, 10) });
    expect(rate(0, 0)).toEqual({ k: 0, n: 0, rate: 0, ci95: [0, 1] });
  });
});

describe('newcombe (method 10)', () => {
  // Newcombe RG (1998) Stat Med 17:873–890, Table II, column 10 (score interval, no continuity correction).
  const table: [number, number, number, number, number, number][] = [
    [56, 70, 48, 80, 0.0524, 0.3339],
    [9, 10, 3, 10, 0.1705, 0.8090],
    [5, 56, 0, 29, -0.0381, 0.1926],
    [0, 10, 0, 20, -0.1611, 0.2775],
    [0, 10, 0, 10, -0.2775, 0.2775],
    [10, 10, 0, 20, 0.6791, 1.0],
    [10, 10, 0, 10, 0.6075, 1.0],
  ];
  for (const [k1, n1, k2, n2, lo, hi] of table) {
    it(`${k1}/${n1} − ${k2}/${n2} = [${lo}, ${hi}]`, () => {
      const [l, u] = newcombe(rate(k1, n1), rate(k2, n2));
      expect(l).toBeCloseTo(lo, 4);
      expect(u).toBeCloseTo(hi, 4);
    });
  }
  it('is antisymmetric: swapping the arms negates and swaps the bounds', () => {
    const [l, u] = newcombe(rate(56, 70), rate(48, 80));
    const [l2, u2] = newcombe(rate(48, 80), rate(56, 70));
    expect(l2).toBeCloseTo(-u, 12);
    expect(u2).toBeCloseTo(-l, 12);
  });
});

describe('entropy', () => {
  it('nats of a histogram', () => {
    expect(entropy([5, 5])).toBeCloseTo(Math.log(2), 12);
    expect(entropy([1, 1, 1])).toBeCloseTo(Math.log(3), 12);
    expect(entropy([7, 0])).toBe(0);
    expect(entropy([])).toBe(0);
    expect(entropy([0, 0])).toBe(0);
    // 3:1 → −(¾ ln ¾ + ¼ ln ¼) = 0.562335
    expect(entropy([3, 1])).toBeCloseTo(0.562335, 6);
  });
});

describe('percentile (R-7, linear interpolation)', () => {
  it('hand-computed fixtures, h = (n − 1)·p', () => {
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5); // h = 1.5
    expect(percentile([1, 2, 3, 4], 0.25)).toBe(1.75); // h = 0.75
    expect(percentile([1, 2, 3, 4], 0)).toBe(1);
    expect(percentile([1, 2, 3, 4], 1)).toBe(4);
    expect(percentile([15, 20, 35, 40, 50], 0.05)).toBeCloseTo(16, 12); // h = 0.2 → 15 + 0.2·5
    expect(percentile([15, 20, 35, 40, 50], 0.3)).toBeCloseTo(23, 12); // h = 1.2 → 20 + 0.2·15
    expect(percentile([15, 20, 35, 40, 50], 0.4)).toBeCloseTo(29, 12); // h = 1.6 → 20 + 0.6·15
    expect(percentile([15, 20, 35, 40, 50], 0.95)).toBeCloseTo(48, 12); // h = 3.8 → 40 + 0.8·10
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 0.99)).toBeCloseTo(99.01, 12); // h = 98.01
    expect(percentile(hundred, 0.5)).toBeCloseTo(50.5, 12);
  });
  it('unsorted input gives the same answer and is not modified; one value; empty is NaN; bad p throws', () => {
    const xs = [40, 15, 50, 20, 35];
    expect(percentile(xs, 0.3)).toBeCloseTo(23, 12);
    expect(xs).toEqual([40, 15, 50, 20, 35]);
    expect(percentile(Float64Array.of(3, 1, 2), 0.5)).toBe(2);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.5)).toBeNaN();
    expect(() => percentile([1], 1.5)).toThrow(/p must be in/);
  });
});

describe('bootstrap', () => {
  const mean = (xs: readonly number[]) => (idx: readonly number[]) => idx.reduce((a, i) => a + xs[i]!, 0) / idx.length;

  it('is deterministic for a seed and differs across seeds; estimate is the full-sample statistic', () => {
    const rng = new Rng(3);
    const xs = Array.from({ length: 40 }, () => rng.normal());
    const a = bootstrapCi(mean(xs), xs.length, { reps: 500, seed: 11 });
    const b = bootstrapCi(mean(xs), xs.length, { reps: 500, seed: 11 });
    const c = bootstrapCi(mean(xs), xs.length, { reps: 500, seed: 12 });
    expect(a).toEqual(b);
    expect(a.ci).not.toEqual(c.ci);
    expect(a.estimate).toBeCloseTo(xs.reduce((s, x) => s + x, 0) / xs.length, 12);
    expect(a.reps).toBe(500);
    expect(a.ci[0]).toBeLessThan(a.estimate);
    expect(a.ci[1]).toBeGreaterThan(a.estimate);
  });

  it('a constant sample has a zero-width interval', () => {
    const r = bootstrapCi(mean([2, 2, 2, 2]), 4, { reps: 50 });
    expect(r.ci).toEqual([2, 2]);
  });

  it('coverage sanity: the 95% interval of a normal mean covers the true mean in ≈ 95% of 200 samples', () => {
    const rng = new Rng(2024);
    let covered = 0;
    const trials = 200;
    for (let t = 0; t < trials; t++) {
      const xs = Array.from({ length: 30 }, () => rng.normal(1, 2));
      const { ci } = bootstrapCi(mean(xs), xs.length, { reps: 400, seed: t });
      if (ci[0] <= 1 && 1 <= ci[1]) covered++;
    }
    // percentile bootstrap with n = 30 under-covers a little; binomial sd at 0.95 is ≈ 1.5%
    expect(covered / trials).toBeGreaterThan(0.87);
    expect(covered / trials).toBeLessThan(0.99);
  });

  it('cluster bootstrap: deterministic; draws whole clusters then items within', () => {
    const sizes = [3, 5, 4];
    const seen: number[][] = [];
    const r1 = clusterBootstrapCi((draws) => {
      seen.push(draws.map((d) => d.cluster));
      for (const d of draws) {
        expect(d.items.length).toBe(sizes[d.cluster]);
        for (const i of d.items) expect(i).toBeLessThan(sizes[d.cluster]!);
      }
      return draws.length;
    }, sizes, { reps: 20, seed: 5 });
    expect(r1.estimate).toBe(3);
    expect(seen.pop()).toEqual([0, 1, 2]); // the estimate's call: every cluster once
    expect(seen.length).toBe(20);
    expect(new Set(seen.flat()).size).toBe(3);
    const r2 = clusterBootstrapCi((d) => d.length, sizes, { reps: 20, seed: 5 });
    expect(r2).toEqual(r1);
  });

  it('pairedRatioCi: ratio of two arms on the same starts; identical arms give exactly [1, 1]; zero denominators counted', () => {
    const a = [[1, 1, 0, 1, 0], [1, 0, 1, 1, 1], [0, 1, 1, 1, 0]];
    const b = [[1, 0, 0, 1, 0], [0, 0, 1, 1, 0], [0, 1, 0, 1, 0]];
    const r = pairedRatioCi(a, b, { reps: 1000, seed: 1 });
    expect(r.estimate).toBeCloseTo(10 / 6, 12);
    expect(r.ci[0]).toBeLessThan(r.estimate);
    expect(r.ci[1]).toBeGreaterThan(r.estimate);
    expect(r.ci[0]).toBeGreaterThan(0.9); // b ≤ a on every start: the paired ratio never drops below 1 …
    expect(r).toEqual(pairedRatioCi(a, b, { reps: 1000, seed: 1 }));
    const same = pairedRatioCi(a, a, { reps: 200, seed: 2 });
    expect(same.ci).toEqual([1, 1]); // … and the pairing makes identical arms exact
    const sparse = pairedRatioCi([[1, 0, 0, 0]], [[1, 0, 0, 0]], { reps: 200, seed: 3 });
    expect(sparse.nonFinite).toBeGreaterThan(0);
    expect(sparse.reps + sparse.nonFinite).toBe(200);
    expect(() => pairedRatioCi([[1]], [[1, 0]])).toThrow(/cluster 0/);
  });
});

describe('formatRate', () => {
  it('prints every success rate with its interval one way', () => {
    const r = rate(6, 10);
    expect(formatRate(r.rate, r.ci95)).toBe(`60.0% (95% CI ${(r.ci95[0] * 100).toFixed(1)}–${(r.ci95[1] * 100).toFixed(1)}%)`);
    expect(formatRate(0.25, [0.046, 0.699])).toBe('25.0% (95% CI 4.6–69.9%)');
  });
});
