/**
 * BESO: EDM preconditioning limits, finite loss targets, few-step sampling of a bimodal 1-D toy (exact denoiser and a
 * tiny trained model), per-sample goal masking, and CFG at λ = 1 = the conditional model.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ACTION, OBS_STATE } from '../../sim/core/features.ts';
import { Rng } from '../../sim/math/rng.ts';
import { initBackend } from '../../policies/common/backend.ts';
import { Adam, defaultAdam } from '../../policies/common/params.ts';
import type { PolicySpec } from '../../policies/common/policy.ts';
import { edmPrecond, exponentialSigmas, randn, sampleEdm, sampleLogLogistic } from '../../policies/common/schedules.ts';
import { trainStep } from '../../policies/train/step.ts';
import { BATCH_GOAL, BesoPolicy, defaultBesoConfig } from '../../policies/beso/index.ts';

beforeAll(async () => { await initBackend('wasm'); });

/** A BESO spec over an `obsDim`-state, `actDim`-action space with identity-like [-1, 1] normalisation. */
function spec(obsDim: number, actDim: number, over: Record<string, unknown> = {}): PolicySpec {
  return {
    method: 'beso',
    config: { ...defaultBesoConfig(), obsKeys: [OBS_STATE], width: 32, depth: 2, embDim: 16, emaDecay: 0, ...over },
    features: {
      observation: { [OBS_STATE]: { kind: 'state', shape: [obsDim], dtype: 'float32' } },
      action: { [ACTION]: { kind: 'action', shape: [actDim], dtype: 'float32', low: -1, high: 1 } },
    },
    normalizers: {
      obs: { mode: 'minmax', scale: Array(obsDim).fill(1), offset: Array(obsDim).fill(0) },
      action: { mode: 'minmax', scale: Array(actDim).fill(1), offset: Array(actDim).fill(0) },
    },
  };
}

describe('EDM preconditioning', () => {
  it('c_skip → 1, c_out → 0 as σ → 0, and D(x; σ_min) ≈ x for an untrained network', () => {
    const p = edmPrecond(1e-6, 0.5);
    expect(p.cSkip).toBeGreaterThan(1 - 1e-9);
    expect(p.cOut).toBeLessThan(1e-5);
    expect(p.cNoise).toBeCloseTo(Math.log(1e-6) / 4, 12);
    const pol = new BesoPolicy(spec(3, 2), 1);
    try {
      const rows = 16, x = randn(new Rng(3), rows * pol.chunkDim, 0.7), obs = randn(new Rng(4), rows * pol.obsDim), goal = randn(new Rng(5), rows * pol.goalDim);
      const err = (s: number) => { const d = pol.denoise(x, s, obs, goal, 1, rows); let e = 0; for (let i = 0; i < x.length; i++) e = Math.max(e, Math.abs(d[i]! - x[i]!)); return e; };
      const eTiny = err(1e-5), eMin = err(pol.cfg.sigmaMin), eMid = err(0.5);
      expect(eTiny).toBeLessThan(1e-3);
      expect(eMin).toBeLessThan(0.05);
      expect(eMid).toBeGreaterThan(eMin * 5); // at σ = σ_data the network output matters
    } finally { pol.dispose(); }
  });

  it('the training target (a − c_skip·ã)/c_out and the loss are finite over [σ_min, σ_max]; σ samples stay in range', () => {
    const c = defaultBesoConfig();
    for (let i = 0; i <= 40; i++) {
      const s = Math.exp(Math.log(c.sigmaMin) + (i / 40) * (Math.log(c.sigmaMax) - Math.log(c.sigmaMin)));
      for (const [a, n] of [[1, -3], [-1, 3], [0.3, 0.01]] as const) {
        const t = BesoPolicy.target(a, a + s * n, s);
        expect(Number.isFinite(t)).toBe(true);
        // The target equals (a·σ/σ_d − n·σ_d)/√(σ²+σ_d²)·… : bounded by |a|/σ_d + |n| scale-wise.
        expect(Math.abs(t)).toBeLessThan(Math.abs(a) / 0.5 + Math.abs(n) + 1e-6);
      }
    }
    const rng = new Rng(11);
    for (let i = 0; i < 2000; i++) {
      const s = sampleLogLogistic(rng, c.sigmaMin, c.sigmaMax, Math.log(0.5), 0.5);
      expect(s).toBeGreaterThanOrEqual(c.sigmaMin * (1 - 1e-9));
      expect(s).toBeLessThanOrEqual(c.sigmaMax * (1 + 1e-9));
    }
    const pol = new BesoPolicy(spec(3, 2), 2);
    try {
      const B = 64, r = new Rng(1);
      const batch = {
        obs: { data: randn(r, B * pol.obsDim), shape: [B, pol.obsDim] },
        action: { data: Float32Array.from(randn(r, B * pol.chunkDim), (v) => Math.tanh(v)), shape: [B, pol.chunkDim] },
        [BATCH_GOAL]: { data: randn(r, B * pol.goalDim), shape: [B, pol.goalDim] },
      };
      const loss = tf.tidy(() => pol.loss(batch, new Rng(2)).loss.dataSync()[0]!);
      expect(Number.isFinite(loss)).toBe(true);
      expect(() => pol.loss({ obs: batch.obs, action: batch.action }, new Rng(2))).toThrow(/goal/);
    } finally { pol.dispose(); }
  });
});

/** Exact denoiser of a 1-D mixture Σ wₖ N(μₖ, s²): D(x; σ) = E[x₀ | x], x = x₀ + σ·n. */
function mixtureDenoiser(w: number[], mu: number[], s: number) {
  return (x: Float32Array, sigma: number): Float32Array => Float32Array.from(x, (xi) => {
    const v = s * s + sigma * sigma;
    const logp = mu.map((m, k) => Math.log(w[k]!) - ((xi - m) ** 2) / (2 * v));
    const mx = Math.max(...logp), post = logp.map((l) => Math.exp(l - mx)), z = post.reduce((a, b) => a + b, 0);
    return post.reduce((acc, p, k) => acc + (p / z) * ((s * s * xi + sigma * sigma * mu[k]!) / v), 0);
  });
}

describe('DDIM-3 on a 1-D two-Gaussian toy', () => {
  it('with the exact denoiser: both modes in the right proportions (exponential schedule, final σ = 0)', () => {
    const w = [0.3, 0.7], mu = [-0.6, 0.6], sd = 0.05, n = 4000;
    const sig = exponentialSigmas(3, 0.005, 1);
    expect(sig[3]).toBe(0);
    const x = sampleEdm('ddim', mixtureDenoiser(w, mu, sd), randn(new Rng(7), n, 1), sig);
    const left = x.filter((v) => v < 0).length / n;
    expect(left).toBeGreaterThan(0.26);
    expect(left).toBeLessThan(0.34);
    // Three steps of a deterministic solver leave a few samples between very sharp modes (sd 0.05); most land on them.
    const nearModes = x.filter((v) => Math.abs(Math.abs(v) - 0.6) < 0.2).length / n;
    expect(nearModes).toBeGreaterThan(0.85);
  });

  it('with a tiny BESO trained on the mixture (goal-free): both modes, roughly the data proportions', async () => {
    const pol = new BesoPolicy(spec(1, 1, { obsHorizon: 1, predHorizon: 1, width: 64, depth: 2, goalMaskProb: 0.1 }), 3);
    pol.useEma = false;
    const opt = new Adam(pol.params, { ...defaultAdam(), lr: 3e-3 });
    try {
      const r = new Rng(5), B = 96;
      for (let step = 0; step < 600; step++) {
        if (step % 50 === 0) await new Promise((res) => setImmediate(res)); // keep the test worker responsive
        const a = new Float32Array(B);
        for (let i = 0; i < B; i++) a[i] = (r.next() < 0.3 ? -0.6 : 0.6) + 0.05 * r.normal();
        const out = trainStep(pol, opt, { obs: { data: new Float32Array(B), shape: [B, 1] }, action: { data: a, shape: [B, 1] }, [BATCH_GOAL]: { data: new Float32Array(B), shape: [B, 1] } }, r);
        expect(Number.isFinite(out.loss)).toBe(true);
      }
      pol.seedNoise(9);
      const n = 600;
      const x = pol.predictRaw(new Float32Array(n), n, { guidance: 0, sampler: 'ddim', steps: 3 } as never);
      // Proportions (data: 30% / 70%) and both modes present (each mode's neighbourhood holds ≥ 10% of samples).
      const left = x.filter((v) => v < 0).length / n;
      expect(left).toBeGreaterThan(0.18);
      expect(left).toBeLessThan(0.42);
      expect(x.filter((v) => Math.abs(v + 0.6) < 0.25).length / n).toBeGreaterThan(0.1);
      expect(x.filter((v) => Math.abs(v - 0.6) < 0.25).length / n).toBeGreaterThan(0.3);
    } finally { opt.dispose(); pol.dispose(); }
  });
});

describe('classifier-free guidance', () => {
  it('masks whole goals per sample and leaves the others untouched', () => {
    const pol = new BesoPolicy(spec(4, 2, { goalMaskProb: 0.5 }), 4);
    try {
      const rows = 400, G = pol.goalDim;
      expect(G).toBe(4);
      const g = Float32Array.from(randn(new Rng(1), rows * G), (v) => v + 3); // never 0
      const { goal, keep } = pol.maskGoals(g, new Rng(2));
      let masked = 0;
      for (let r = 0; r < rows; r++) {
        const row = Array.from(goal.subarray(r * G, (r + 1) * G)), orig = Array.from(g.subarray(r * G, (r + 1) * G));
        if (keep[r] === 0) { masked++; expect(row).toEqual([0, 0, 0, 0]); } else { expect(keep[r]).toBe(1); expect(row).toEqual(orig); }
      }
      expect(masked).toBeGreaterThan(150);
      expect(masked).toBeLessThan(250);
      const p01 = new BesoPolicy(spec(4, 2), 5);
      const k01 = p01.maskGoals(new Float32Array(20000 * G).fill(1), new Rng(3)).keep;
      const frac = 1 - k01.reduce((a, b) => a + b, 0) / 20000;
      expect(frac).toBeGreaterThan(0.09);
      expect(frac).toBeLessThan(0.11);
      p01.dispose();
    } finally { pol.dispose(); }
  });

  it('λ = 1 equals the conditional model; λ = 0 the goal-free one; other λ combine them linearly', () => {
    const pol = new BesoPolicy(spec(3, 2), 6);
    try {
      // Make the goal matter: random (non-zero) FiLM weights.
      for (const n of pol.params.names) if (n.includes('film')) pol.params.get(n).assign(tf.randomNormal(pol.params.get(n).shape, 0, 0.3, 'float32', 1));
      const rows = 8, r = new Rng(9);
      const x = randn(r, rows * pol.chunkDim, 0.5), obs = randn(r, rows * pol.obsDim), goal = randn(r, rows * pol.goalDim);
      const both1 = pol.denoise(x, 0.3, obs, goal, 1, rows, true);
      const cond = pol.denoise(x, 0.3, obs, goal, 1, rows);
      const uncond = pol.denoise(x, 0.3, obs, goal, 0, rows);
      const lam2 = pol.denoise(x, 0.3, obs, goal, 2, rows);
      let diffCu = 0;
      for (let i = 0; i < x.length; i++) {
        expect(both1[i]).toBeCloseTo(cond[i]!, 5);
        expect(lam2[i]).toBeCloseTo(uncond[i]! + 2 * (cond[i]! - uncond[i]!), 4);
        diffCu = Math.max(diffCu, Math.abs(cond[i]! - uncond[i]!));
      }
      expect(diffCu).toBeGreaterThan(1e-3); // the two branches really differ
      // No tensors leak across act-style calls.
      const before = tf.memory().numTensors;
      pol.denoise(x, 0.3, obs, goal, 2, rows);
      expect(tf.memory().numTensors).toBe(before);
    } finally { pol.dispose(); }
  });
});

describe('policy contract (BESO)', () => {
  it('act() reads the goal from the observation, stays in bounds, round-trips through a checkpoint, leaks no tensors', async () => {
    const { saveCheckpoint } = await import('../../policies/train/checkpoint.ts');
    const { loadPolicy } = await import('../../policies/train/load.ts');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const s = spec(4, 2, { goalDims: [0, 1], inferSteps: 3, guidance: 2, emaDecay: 0.999 });
    s.features.observation = { ...s.features.observation, 'observation.goal': { kind: 'goal', shape: [2], dtype: 'float32' } };
    const p = new BesoPolicy(s, 7);
    const dir = mkdtempSync(path.join(tmpdir(), 'beso-ck-'));
    try {
      tf.tidy(() => { for (const v of p.params.list()) v.assign(tf.add(v, tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', 9), 0.05))); });
      for (const [n, v] of p.ema!.shadow) v.assign(p.params.get(n));
      const r = new Rng(4);
      const obs = Array.from({ length: 6 }, () => ({ [OBS_STATE]: randn(r, 4, 0.5), 'observation.goal': Float32Array.of(0.6, 0.6) }));
      const run = async (q: BesoPolicy, viaObs: boolean) => {
        q.reset(); q.seedNoise(42);
        const out: number[] = [];
        for (const o of obs) {
          const a = viaObs ? await q.act(o) : await q.act({ [OBS_STATE]: o[OBS_STATE]! }, { goal: Float32Array.of(0.6, 0.6) });
          expect(a.length).toBe(2);
          for (const v of a) { expect(Number.isFinite(v)).toBe(true); expect(Math.abs(v)).toBeLessThanOrEqual(1); }
          out.push(...a);
        }
        return out;
      };
      const a1 = await run(p, true);
      expect(await run(p, false)).toEqual(a1);
      await saveCheckpoint(dir, 3, p, { safetyEnvelope: { actionLow: [-1, -1], actionHigh: [1, 1], maxDeltaPerStep: [2, 2] }, trainingCommand: 'test', gitCommit: 'x', backend: 'wasm', sceneId: 'toy/zone_play' });
      const q = loadPolicy(dir) as unknown as BesoPolicy;
      try {
        expect(q.method).toBe('beso');
        expect(await run(q, true)).toEqual(a1);
        const before = tf.memory().numTensors;
        for (let i = 0; i < 30; i++) await q.act(obs[i % obs.length]!);
        expect(tf.memory().numTensors).toBe(before);
      } finally { q.dispose(); }
    } finally { p.dispose(); rmSync(dir, { recursive: true, force: true }); }
  });
});
