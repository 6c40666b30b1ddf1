/**
 * Numeric kernels against hand-computed fixtures: schedules, EDM preconditioning, DDIM/EDM steps, flow SDE log-prob,
 * CFG, GAE, Wilson, normaliser round trip, the custom-gradient dense layer vs tfjs's own gradients.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../sim/math/rng.ts';
import { initBackend } from '../../policies/common/backend.ts';
import { dense, denseReference } from '../../policies/common/dense.ts';
import { Normalizer } from '../../policies/common/normalizer.ts';
import {
  cfgCombine, cfgMask, ddimStep, ddimTimesteps, sampleDdim, ddpmSchedule, edmDenoiser, edmPrecond, edmStep, exponentialSigmas,
  flowSdeStep, sampleFlowEuler, sampleLogLogistic, sampleEdm,
} from '../../policies/common/schedules.ts';
import { RecedingHorizon } from '../../policies/common/chunking.ts';
import { clippedSurrogate, gae } from '../../policies/common/rl.ts';
import { wilson } from '../../policies/train/evaluate.ts';
import { sinusoidalEmbeddingJs, sinusoidalEmbedding } from '../../policies/common/nn.ts';

beforeAll(async () => { await initBackend('wasm'); });

describe('schedules', () => {
  it('linear DDPM betas and alpha-bars match hand values', () => {
    const s = ddpmSchedule(3, 'linear', 0.1, 0.3);
    expect(s.betas[0]).toBeCloseTo(0.1, 12); expect(s.betas[1]).toBeCloseTo(0.2, 12); expect(s.betas[2]).toBeCloseTo(0.3, 12);
    expect(s.alphaBars[0]).toBeCloseTo(0.9, 12);
    expect(s.alphaBars[1]).toBeCloseTo(0.9 * 0.8, 12);
    expect(s.alphaBars[2]).toBeCloseTo(0.9 * 0.8 * 0.7, 12);
  });
  it('cosine schedule: ᾱ_t = f(t+1)/f(0) with β capped at 0.999', () => {
    const s = ddpmSchedule(10, 'squaredcos_cap_v2');
    const f = (t: number) => Math.cos(((t + 0.008) / 1.008) * Math.PI / 2) ** 2;
    expect(s.alphaBars[4]).toBeCloseTo(f(0.5) / f(0), 9);
    expect(s.betas[9]).toBeLessThanOrEqual(0.999);
  });
  it('DDIM timesteps are evenly spaced and descending', () => {
    expect(ddimTimesteps(100, 10)).toEqual([90, 80, 70, 60, 50, 40, 30, 20, 10, 0]);
    expect(() => ddimTimesteps(10, 11)).toThrow(/1 ≤ n ≤ T/);
  });
  it('exponential σ schedule is log-spaced from σ_max to σ_min with a final 0', () => {
    const s = Array.from(exponentialSigmas(3, 0.05, 1));
    expect(s[0]).toBeCloseTo(1, 12);
    expect(s[1]).toBeCloseTo(Math.sqrt(0.05), 12);
    expect(s[2]).toBeCloseTo(0.05, 12);
    expect(s[3]).toBe(0);
  });
  it('log-logistic σ samples stay inside [σ_min, σ_max]', () => {
    const rng = new Rng(3);
    for (let i = 0; i < 1000; i++) {
      const s = sampleLogLogistic(rng, 0.005, 1);
      expect(s).toBeGreaterThanOrEqual(0.005 - 1e-12);
      expect(s).toBeLessThanOrEqual(1 + 1e-12);
    }
  });
});

describe('EDM preconditioning and samplers', () => {
  it('constants at σ = σ_data = 0.5', () => {
    const p = edmPrecond(0.5, 0.5);
    expect(p.cSkip).toBeCloseTo(0.5, 12);
    expect(p.cOut).toBeCloseTo(0.25 / Math.sqrt(0.5), 12);
    expect(p.cIn).toBeCloseTo(1 / Math.sqrt(0.5), 12);
    expect(p.cNoise).toBeCloseTo(Math.log(0.5) / 4, 12);
  });
  it('D(x; σ→0) ≈ x and the training target is finite at σ_min', () => {
    const D = edmDenoiser(() => Float32Array.of(3), 0.5);
    expect(D(Float32Array.of(0.7), 1e-7)[0]).toBeCloseTo(0.7, 5);
    expect(edmPrecond(1e-7).cSkip).toBeCloseTo(1, 10);
    expect(edmPrecond(1e-7).cOut).toBeCloseTo(0, 6);
    const p = edmPrecond(0.005);
    expect(Number.isFinite((0.3 - p.cSkip * 0.31) / p.cOut)).toBe(true);
  });
  it('DDIM (DPM-1) step: x ← (σ₁/σ₀)x + (1 − σ₁/σ₀)D, last step returns D', () => {
    const D = () => Float32Array.of(0.2);
    expect(edmStep('ddim', D, Float32Array.of(1), 1, 0.5)[0]).toBeCloseTo(0.5 * 1 + 0.5 * 0.2, 6);
    expect(edmStep('ddim', D, Float32Array.of(1), 0.5, 0)[0]).toBeCloseTo(0.2, 6);
  });
  it('Euler and Heun steps on a hand example', () => {
    // D(x, σ) = 0.5x → d = (x − 0.5x)/σ.
    const D = (x: Float32Array) => x.map((v) => 0.5 * v);
    const e = edmStep('euler', D, Float32Array.of(2), 1, 0.5)[0]!;
    expect(e).toBeCloseTo(2 + (1 / 1) * (0.5 - 1), 6); // d = 1 → 1.5
    const h = edmStep('heun', D, Float32Array.of(2), 1, 0.5)[0]!;
    // second slope at x=1.5, σ=0.5: (1.5 − 0.75)/0.5 = 1.5; mean slope 1.25 → 2 − 0.625
    expect(h).toBeCloseTo(1.375, 6);
    expect(edmStep('heun', D, Float32Array.of(2), 1, 0)[0]).toBeCloseTo(edmStep('euler', D, Float32Array.of(2), 1, 0)[0]!, 6);
  });
  it('Euler-ancestral: σ_up/σ_down split and zero noise at the final step', () => {
    const D = () => Float32Array.of(0);
    const r = edmStep('euler_ancestral', D, Float32Array.of(1), 1, 0, new Rng(1));
    expect(r[0]).toBeCloseTo(0, 6);
    const up = Math.min(0.5, Math.sqrt((0.25 * (1 - 0.25)) / 1)), down = Math.sqrt(0.25 - up * up);
    const rng = new Rng(7), n = new Rng(7).normal();
    const x = edmStep('euler_ancestral', D, Float32Array.of(1), 1, 0.5, rng)[0]!;
    expect(x).toBeCloseTo(1 + 1 * (down - 1) + up * n, 5);
  });
  it('DDIM-3 on a two-Gaussian toy with the exact denoiser reproduces both modes', () => {
    // data: ±0.8 with equal weight, σ_d = 0.5 scale; exact D(x; σ) = E[x0 | x].
    const modes = [-0.8, 0.8];
    const Dx = (x: Float32Array, s: number) => x.map((v) => {
      const w = modes.map((m) => Math.exp(-((v - m) ** 2) / (2 * s * s)));
      return (w[0]! * modes[0]! + w[1]! * modes[1]!) / (w[0]! + w[1]!);
    });
    const rng = new Rng(11);
    const x0 = Float32Array.from({ length: 400 }, () => rng.normal());
    const out = sampleEdm('ddim', Dx, x0, exponentialSigmas(3, 0.05, 1));
    const pos = out.filter((v) => v > 0).length;
    expect(pos).toBeGreaterThan(120);
    expect(pos).toBeLessThan(280);
    for (const v of out) expect(Math.min(Math.abs(v - 0.8), Math.abs(v + 0.8))).toBeLessThan(0.1);
  });
});

describe('DDIM ε-space step', () => {
  it('deterministic step matches the closed form', () => {
    const s = ddpmSchedule(3, 'linear', 0.1, 0.3);
    const ab = s.alphaBars[2]!, abp = s.alphaBars[0]!;
    const x = 0.4, eps = -0.3;
    const x0 = (x - Math.sqrt(1 - ab) * eps) / Math.sqrt(ab);
    const want = Math.sqrt(abp) * x0 + Math.sqrt(1 - abp) * eps;
    expect(ddimStep(s, Float32Array.of(x), Float32Array.of(eps), 2, 0)[0]).toBeCloseTo(want, 6);
    expect(ddimStep(s, Float32Array.of(x), Float32Array.of(eps), 0, -1)[0]).toBeCloseTo((x - Math.sqrt(1 - s.alphaBars[0]!) * eps) / Math.sqrt(s.alphaBars[0]!), 6);
  });

  it('clipping x̂₀ re-derives ε from it; elements inside the clip range are untouched', () => {
    const s = ddpmSchedule(3, 'linear', 0.1, 0.3);
    const ab = s.alphaBars[2]!, abp = s.alphaBars[0]!;
    const x = Float32Array.of(0.4, 3), eps = Float32Array.of(-0.3, -2); // x̂₀ ≈ 0.7 (inside ±1), ≈ 6 (clipped to 1)
    const out = ddimStep(s, x, eps, 2, 0, 0, undefined, 1);
    expect(out[0]).toBe(ddimStep(s, x, eps, 2, 0)[0]);
    const e1 = (3 - Math.sqrt(ab) * 1) / Math.sqrt(1 - ab);
    expect(out[1]).toBeCloseTo(Math.sqrt(abp) * 1 + Math.sqrt(1 - abp) * e1, 5);
  });

  it('a network that extrapolates (ε growing with x) cannot drive a clipped 50-step sample to Inf/NaN', () => {
    // A ReLU net far outside its training data is locally linear: ε = 20·x. Clipping only x̂₀ and keeping the raw ε
    // grows x ~20× per step, overflows float32 and ends in NaN (the Diffusion Policy failure this test pins).
    const s = ddpmSchedule(100);
    const model = (x: Float32Array) => x.map((v) => 20 * v + 1);
    const out = sampleDdim(s, model, Float32Array.of(0.5, -1.5, 2), 50, 0, undefined, 1);
    for (const v of out) {
      expect(Number.isFinite(v)).toBe(true);
      expect(Math.abs(v)).toBeLessThanOrEqual(1 + 1e-6); // the last step returns the clipped x̂₀
    }
  });
});

describe('rectified flow', () => {
  const v = (x: Float32Array, tau: number) => x.map((xi) => xi * 0.5 + tau);
  it('SDE step with a = 0 equals the Euler step', () => {
    const x = Float32Array.of(0.3, -1.2);
    const e = sampleFlowEuler(v, x, 1);
    const s = flowSdeStep(x, v(x, 1), 1, 1, 0);
    expect(Array.from(s.next)).toEqual(Array.from(e));
    expect(s.logProb).toBe(0);
  });
  it('log-prob of the SDE step matches the Gaussian formula', () => {
    const x = Float32Array.of(0.3, -1.2), vel = Float32Array.of(0.1, 0.2), tau = 0.6, h = 0.2, a = 0.6;
    const sig = a * Math.sqrt(tau / (1 - tau)), c = (sig * sig) / (2 * tau);
    const mean = Array.from(x, (xi, i) => xi - h * (vel[i]! + c * (xi + (1 - tau) * vel[i]!)));
    const nxt = Float32Array.of(0.25, -1.1);
    const std = sig * Math.sqrt(h);
    const want = mean.reduce((acc, m, i) => acc - (nxt[i]! - m) ** 2 / (2 * std * std) - Math.log(std) - 0.5 * Math.log(2 * Math.PI), 0);
    const r = flowSdeStep(x, vel, tau, h, a, undefined, nxt);
    expect(r.logProb).toBeCloseTo(want, 4);
    for (let i = 0; i < 2; i++) expect(r.mean[i]).toBeCloseTo(mean[i]!, 6);
  });
  it('log-prob ratio is exactly 1 when weights are unchanged', () => {
    const x = Float32Array.of(0.3, -1.2), vel = v(x, 0.7);
    const sampled = flowSdeStep(x, vel, 0.7, 0.1, 0.6, new Rng(5));
    const rescored = flowSdeStep(x, v(x, 0.7), 0.7, 0.1, 0.6, undefined, sampled.next);
    expect(Math.exp(rescored.logProb - sampled.logProb)).toBe(1);
    const r = tf.tidy(() => clippedSurrogate(tf.tensor1d([sampled.logProb]), tf.tensor1d([rescored.logProb]), tf.tensor1d([1]), 0.2).loss.dataSync()[0]);
    expect(r).toBe(-1);
  });
});

describe('CFG, chunking, GAE, Wilson, embeddings', () => {
  it('CFG combine and per-sample masking', () => {
    expect(Array.from(cfgCombine(Float32Array.of(1, 2), Float32Array.of(3, 6), 2))).toEqual([5, 10]);
    const { masked, keep } = cfgMask(Float32Array.from({ length: 3000 }, () => 1), 3, 0.1, new Rng(1));
    const dropped = keep.filter((k) => k === 0).length;
    expect(dropped).toBeGreaterThan(60); expect(dropped).toBeLessThan(140);
    for (let r = 0; r < 1000; r++) {
      const row = Array.from(masked.subarray(r * 3, r * 3 + 3));
      expect(row).toEqual(keep[r] ? [1, 1, 1] : [0, 0, 0]); // whole rows, never single elements
    }
  });
  it('receding horizon executes steps [To−1, To−1+Ta) and pads history', () => {
    const rh = new RecedingHorizon({ obsHorizon: 2, predHorizon: 6, actionHorizon: 3 });
    const w = rh.observe({ s: Float32Array.of(7) });
    expect(w.map((o) => o.s![0])).toEqual([7, 7]);
    expect(rh.needsPlan()).toBe(true);
    rh.setPlan(Float32Array.of(0, 1, 2, 3, 4, 5), 1);
    expect([rh.next()[0], rh.next()[0], rh.next()[0]]).toEqual([1, 2, 3]);
    expect(rh.needsPlan()).toBe(true);
    expect(() => new RecedingHorizon({ obsHorizon: 2, predHorizon: 3, actionHorizon: 3 })).toThrow(/Tp ≥ To − 1 \+ Ta/);
  });
  it('GAE on a hand example', () => {
    // T=2, N=1: r=[1, 1], V=[0.5, 0.5], last V=2, γ=0.9, λ=0.8, no done.
    const { adv } = gae(Float32Array.of(1, 1), Float32Array.of(0.5, 0.5), Uint8Array.of(0, 0), Float32Array.of(2), 2, 1, 0.9, 0.8);
    const d1 = 1 + 0.9 * 2 - 0.5, d0 = 1 + 0.9 * 0.5 - 0.5;
    expect(adv[1]).toBeCloseTo(d1, 5);
    expect(adv[0]).toBeCloseTo(d0 + 0.72 * d1, 5);
    const t = gae(Float32Array.of(1, 1), Float32Array.of(0.5, 0.5), Uint8Array.of(1, 0), Float32Array.of(2), 2, 1, 0.9, 0.8);
    expect(t.adv[0]).toBeCloseTo(1 - 0.5, 5);
  });
  it('Wilson interval', () => {
    const [lo, hi] = wilson(40, 50);
    expect(lo).toBeCloseTo(0.6696, 3);
    expect(hi).toBeCloseTo(0.8876, 3);
    expect(wilson(0, 10)[0]).toBe(0);
  });
  it('sinusoidal embedding: tensor version equals the JS one', () => {
    const js = sinusoidalEmbeddingJs(3.5, 8);
    const t = tf.tidy(() => sinusoidalEmbedding(tf.tensor2d([[3.5]]), 8).dataSync());
    for (let i = 0; i < 8; i++) expect(t[i]).toBeCloseTo(js[i]!, 5);
    expect(js[0]).toBeCloseTo(Math.sin(3.5), 6);
    expect(js[4]).toBeCloseTo(Math.cos(3.5), 6);
  });
});

describe('normaliser', () => {
  it('min-max maps [min, max] to [-1, 1] and round-trips; constant dims survive', () => {
    const n = Normalizer.fromStats('minmax', { min: [0, -2, 5], max: [10, 2, 5], mean: [0, 0, 0], std: [1, 1, 1] });
    expect(Array.from(n.normalize([0, -2, 5, 10, 2, 5]))).toEqual([-1, -1, 0, 1, 1, 0]);
    const x = Float32Array.of(3.3, 0.7, 5);
    const back = n.denormalize(n.normalize(x));
    for (let i = 0; i < 3; i++) expect(back[i]).toBeCloseTo(x[i]!, 5);
    const j = Normalizer.fromJSON(JSON.parse(JSON.stringify(n.toJSON())));
    expect(Array.from(j.normalize(x))).toEqual(Array.from(n.normalize(x)));
  });
  it('mean-std round trip, tensor version agrees', () => {
    const n = Normalizer.fromStats('meanstd', { min: [0, 0], max: [1, 1], mean: [1, -3], std: [2, 0.5] });
    expect(Array.from(n.normalize([3, -2]))).toEqual([1, 2]);
    const t = tf.tidy(() => n.denormalizeT(n.normalizeT(tf.tensor2d([[3, -2], [0, 0]]))).dataSync());
    expect(Array.from(t)).toEqual([3, -2, 0, 0]);
    n.dispose();
  });
});

describe('custom-gradient dense layer', () => {
  for (const act of ['linear', 'relu', 'silu', 'tanh'] as const) {
    it(`${act}: value and gradients match tfjs autodiff to 1e-5`, () => {
      tf.tidy(() => {
        const rng = new Rng(2);
        const mk = (s: number[]) => tf.tensor(Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.normal()), s);
        const x = mk([7, 5]) as tf.Tensor2D, W = mk([5, 4]) as tf.Tensor2D, b = mk([4]) as tf.Tensor1D, up = mk([7, 4]);
        const f = (fn: typeof dense) => (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(fn(xx as tf.Tensor2D, ww as tf.Tensor2D, bb as tf.Tensor1D, act), up));
        const ours = tf.grads(f(dense))([x, W, b]);
        const ref = tf.grads(f(denseReference))([x, W, b]);
        const yo = dense(x, W, b, act).dataSync(), yr = denseReference(x, W, b, act).dataSync();
        for (let i = 0; i < yo.length; i++) expect(Math.abs(yo[i]! - yr[i]!)).toBeLessThan(1e-5);
        for (let k = 0; k < 3; k++) {
          const a = ours[k]!.dataSync(), r = ref[k]!.dataSync();
          for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - r[i]!)).toBeLessThan(1e-5);
        }
      });
    });
  }
});
