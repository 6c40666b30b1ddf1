/**
 * Noise schedules and samplers, written once for every method. Samplers work on plain Float32Arrays (a batch of
 * flattened action chunks) and call a model function; the network call is the expensive part, the arithmetic here is
 * cheap and exactly testable against hand-computed fixtures.
 *
 * - DDPM / DDIM (ε-prediction) — Diffusion Policy, FDP.
 * - EDM / Karras (σ-space) preconditioning with Euler, Heun, DDIM (= DPM-Solver-1) and Euler-ancestral over the
 *   exponential σ schedule with a final 0 — BESO.
 * - Rectified flow: Euler and the stochastic SDE-Euler step with per-step Gaussian log-probs — DIAL (GRPO).
 */
import type { Rng } from '../../sim/math/rng.ts';

// ---------------------------------------------------------------------------------------------------------------
// DDPM / DDIM
// ---------------------------------------------------------------------------------------------------------------

export type BetaSchedule = 'linear' | 'squaredcos_cap_v2';

export interface DdpmSchedule { T: number; betas: Float64Array; alphas: Float64Array; alphaBars: Float64Array }

/** β_t for t = 0..T−1. 'linear': β from 1e-4 to 0.02 (Ho et al.); 'squaredcos_cap_v2': cosine ᾱ (Nichol & Dhariwal), β ≤ 0.999. */
export function ddpmSchedule(T: number, kind: BetaSchedule = 'squaredcos_cap_v2', betaStart = 1e-4, betaEnd = 0.02): DdpmSchedule {
  const betas = new Float64Array(T);
  if (kind === 'linear') {
    for (let t = 0; t < T; t++) betas[t] = T === 1 ? betaStart : betaStart + ((betaEnd - betaStart) * t) / (T - 1);
  } else {
    const f = (t: number) => Math.cos(((t + 0.008) / 1.008) * Math.PI / 2) ** 2;
    for (let t = 0; t < T; t++) betas[t] = Math.min(1 - f((t + 1) / T) / f(t / T), 0.999);
  }
  const alphas = new Float64Array(T), alphaBars = new Float64Array(T);
  let ab = 1;
  for (let t = 0; t < T; t++) { alphas[t] = 1 - betas[t]!; ab *= alphas[t]!; alphaBars[t] = ab; }
  return { T, betas, alphas, alphaBars };
}

/** q(x_t | x_0): x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε (per row t). */
export function ddpmAddNoise(s: DdpmSchedule, x0: Float32Array, eps: Float32Array, t: ArrayLike<number>, rowLen: number): Float32Array {
  const out = new Float32Array(x0.length);
  for (let i = 0; i < x0.length; i++) {
    const ab = s.alphaBars[t[Math.floor(i / rowLen)]!]!;
    out[i] = Math.sqrt(ab) * x0[i]! + Math.sqrt(1 - ab) * eps[i]!;
  }
  return out;
}

/** Evenly spaced DDIM timesteps, descending (e.g. T=100, n=10 → 90, 80, …, 0). */
export function ddimTimesteps(T: number, n: number): number[] {
  if (n < 1 || n > T) throw new Error(`ddimTimesteps: need 1 ≤ n ≤ T, got n=${n}, T=${T}`);
  const stride = Math.floor(T / n);
  const ts: number[] = [];
  for (let i = n - 1; i >= 0; i--) ts.push(i * stride);
  return ts;
}

/**
 * One DDIM step from t to tPrev (tPrev = −1 means ᾱ = 1, the clean sample) with ε-prediction:
 * x̂₀ = (x − √(1−ᾱ_t)·ε)/√ᾱ_t, σ = η·√((1−ᾱ_p)/(1−ᾱ_t))·√(1−ᾱ_t/ᾱ_p), x_p = √ᾱ_p·x̂₀ + √(1−ᾱ_p−σ²)·ε + σ·z.
 *
 * With clipX0 > 0, an x̂₀ outside ±clipX0 is clipped and that element's ε is re-derived from the clipped x̂₀
 * (ε = (x − √ᾱ_t·x̂₀)/√(1−ᾱ_t), GLIDE; diffusers' `use_clipped_model_output`). Clipping x̂₀ alone leaves the raw ε in
 * the update, and a network extrapolating far outside its training data (ε growing with x) then grows x geometrically
 * from step to step until it overflows to ±Inf and the last step returns NaN (seen with a 50-step Diffusion Policy on
 * an out-of-distribution state). With the re-derived ε, |x_p| ≤ |x| + 2·clipX0, so samples stay finite; elements
 * whose x̂₀ is inside the clip range are computed exactly as without it.
 */
export function ddimStep(s: DdpmSchedule, x: Float32Array, eps: Float32Array, t: number, tPrev: number, eta = 0, rng?: Rng, clipX0 = 0): Float32Array {
  const ab = s.alphaBars[t]!, abp = tPrev >= 0 ? s.alphaBars[tPrev]! : 1;
  const sigma = eta * Math.sqrt((1 - abp) / (1 - ab)) * Math.sqrt(1 - ab / abp);
  const dirC = Math.sqrt(Math.max(0, 1 - abp - sigma * sigma));
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    let e = eps[i]!;
    let x0 = (x[i]! - Math.sqrt(1 - ab) * e) / Math.sqrt(ab);
    if (clipX0 > 0 && !(Math.abs(x0) <= clipX0)) {
      x0 = Math.sign(x0) * clipX0; // NaN stays NaN (a broken network is not hidden)
      e = (x[i]! - Math.sqrt(ab) * x0) / Math.sqrt(1 - ab);
    }
    out[i] = Math.sqrt(abp) * x0 + dirC * e + (sigma > 0 ? sigma * rng!.normal() : 0);
  }
  return out;
}

/** DDPM ancestral step t → t−1 (posterior mean from ε, variance β̃_t). */
export function ddpmStep(s: DdpmSchedule, x: Float32Array, eps: Float32Array, t: number, rng: Rng, clipX0 = 0): Float32Array {
  const ab = s.alphaBars[t]!, abp = t > 0 ? s.alphaBars[t - 1]! : 1, beta = s.betas[t]!, alpha = s.alphas[t]!;
  const c0 = (Math.sqrt(abp) * beta) / (1 - ab), ct = (Math.sqrt(alpha) * (1 - abp)) / (1 - ab);
  const varT = ((1 - abp) / (1 - ab)) * beta;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    let x0 = (x[i]! - Math.sqrt(1 - ab) * eps[i]!) / Math.sqrt(ab);
    if (clipX0 > 0) x0 = Math.max(-clipX0, Math.min(clipX0, x0));
    out[i] = c0 * x0 + ct * x[i]! + (t > 0 ? Math.sqrt(varT) * rng.normal() : 0);
  }
  return out;
}

export type EpsModel = (x: Float32Array, t: number) => Float32Array;

/** Full DDIM sampling from x_T = noise over `n` evenly spaced steps. */
export function sampleDdim(s: DdpmSchedule, model: EpsModel, xT: Float32Array, n: number, eta = 0, rng?: Rng, clipX0 = 0): Float32Array {
  const ts = ddimTimesteps(s.T, n);
  let x = xT;
  for (let i = 0; i < ts.length; i++) x = ddimStep(s, x, model(x, ts[i]!), ts[i]!, i + 1 < ts.length ? ts[i + 1]! : -1, eta, rng, clipX0);
  return x;
}

// ---------------------------------------------------------------------------------------------------------------
// EDM / Karras
// ---------------------------------------------------------------------------------------------------------------

export interface EdmPrecond { cSkip: number; cOut: number; cIn: number; cNoise: number }

/** c_skip = σ_d²/(σ²+σ_d²), c_out = σ·σ_d/√(σ²+σ_d²), c_in = 1/√(σ²+σ_d²), c_noise = ln(σ)/4. */
export function edmPrecond(sigma: number, sigmaData = 0.5): EdmPrecond {
  const s2 = sigma * sigma + sigmaData * sigmaData;
  return { cSkip: (sigmaData * sigmaData) / s2, cOut: (sigma * sigmaData) / Math.sqrt(s2), cIn: 1 / Math.sqrt(s2), cNoise: Math.log(sigma) / 4 };
}

/** n values log-spaced from σ_max down to σ_min, then a final 0 (length n + 1). */
export function exponentialSigmas(n: number, sigmaMin: number, sigmaMax: number): Float64Array {
  const out = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    const f = n === 1 ? 0 : i / (n - 1);
    out[i] = Math.exp(Math.log(sigmaMax) + f * (Math.log(sigmaMin) - Math.log(sigmaMax)));
  }
  out[n] = 0;
  return out;
}

/** Karras ρ-schedule (ρ = 7 by default) with a final 0. */
export function karrasSigmas(n: number, sigmaMin: number, sigmaMax: number, rho = 7): Float64Array {
  const out = new Float64Array(n + 1);
  const a = sigmaMax ** (1 / rho), b = sigmaMin ** (1 / rho);
  for (let i = 0; i < n; i++) out[i] = (a + (n === 1 ? 0 : i / (n - 1)) * (b - a)) ** rho;
  out[n] = 0;
  return out;
}

/** Truncated log-logistic σ (BESO training): u ~ U[F(σmin), F(σmax)], σ = exp(loc + scale·logit(u)). */
export function sampleLogLogistic(rng: Rng, sigmaMin: number, sigmaMax: number, loc = Math.log(0.5), scale = 0.5): number {
  const F = (s: number) => 1 / (1 + Math.exp(-(Math.log(s) - loc) / scale));
  const u = rng.uniform(F(sigmaMin), F(sigmaMax));
  return Math.exp(loc + scale * Math.log(u / (1 - u)));
}

/** A denoiser D(x; σ) (already preconditioned: see `edmDenoiser`). */
export type Denoiser = (x: Float32Array, sigma: number) => Float32Array;

/** Wrap a raw network F(c_in·x, c_noise) into D(x; σ) = c_skip·x + c_out·F. */
export function edmDenoiser(F: (xIn: Float32Array, cNoise: number) => Float32Array, sigmaData = 0.5): Denoiser {
  return (x, sigma) => {
    const p = edmPrecond(sigma, sigmaData);
    const xin = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) xin[i] = p.cIn * x[i]!;
    const f = F(xin, p.cNoise);
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = p.cSkip * x[i]! + p.cOut * f[i]!;
    return out;
  };
}

export type EdmSampler = 'euler' | 'heun' | 'ddim' | 'euler_ancestral';

/** One step σ_i → σ_{i+1}. */
export function edmStep(kind: EdmSampler, D: Denoiser, x: Float32Array, s: number, sNext: number, rng?: Rng): Float32Array {
  const den = D(x, s);
  const n = x.length, out = new Float32Array(n);
  if (kind === 'ddim') {
    if (sNext === 0) return den;
    const r = sNext / s;
    for (let i = 0; i < n; i++) out[i] = r * x[i]! + (1 - r) * den[i]!;
    return out;
  }
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = (x[i]! - den[i]!) / s;
  if (kind === 'euler_ancestral') {
    const up = sNext === 0 ? 0 : Math.min(sNext, Math.sqrt((sNext * sNext * (s * s - sNext * sNext)) / (s * s)));
    const down = Math.sqrt(Math.max(0, sNext * sNext - up * up));
    for (let i = 0; i < n; i++) out[i] = x[i]! + d[i]! * (down - s) + (up > 0 ? up * rng!.normal() : 0);
    return out;
  }
  for (let i = 0; i < n; i++) out[i] = x[i]! + d[i]! * (sNext - s);
  if (kind === 'euler' || sNext === 0) return out;
  // Heun: average the slopes at σ_i and σ_{i+1}.
  const den2 = D(out, sNext);
  for (let i = 0; i < n; i++) {
    const d2 = (out[i]! - den2[i]!) / sNext;
    out[i] = x[i]! + ((d[i]! + d2) / 2) * (sNext - s);
  }
  return out;
}

/** Run a sampler over a σ schedule (ending in 0) from x = σ₀·noise. */
export function sampleEdm(kind: EdmSampler, D: Denoiser, x0: Float32Array, sigmas: ArrayLike<number>, rng?: Rng): Float32Array {
  let x = x0;
  for (let i = 0; i + 1 < sigmas.length; i++) x = edmStep(kind, D, x, sigmas[i]!, sigmas[i + 1]!, rng);
  return x;
}

// ---------------------------------------------------------------------------------------------------------------
// Rectified flow
// ---------------------------------------------------------------------------------------------------------------

/** v(x_τ, τ): velocity field; x_τ = (1−τ)·x₀ + τ·ε, so v* = ε − x₀ and data is at τ = 0. */
export type VelocityModel = (x: Float32Array, tau: number) => Float32Array;

/** Interpolant and target for training: x_τ and v = ε − x₀. */
export function flowInterpolate(x0: Float32Array, eps: Float32Array, tau: ArrayLike<number>, rowLen: number): { xt: Float32Array; v: Float32Array } {
  const xt = new Float32Array(x0.length), v = new Float32Array(x0.length);
  for (let i = 0; i < x0.length; i++) {
    const t = tau[Math.floor(i / rowLen)]!;
    xt[i] = (1 - t) * x0[i]! + t * eps[i]!;
    v[i] = eps[i]! - x0[i]!;
  }
  return { xt, v };
}

/** Deterministic Euler from τ = 1 to 0 in n equal steps. */
export function sampleFlowEuler(model: VelocityModel, x1: Float32Array, n: number): Float32Array {
  let x = x1;
  const h = 1 / n;
  for (let k = 0; k < n; k++) {
    const tau = 1 - k * h;
    const v = model(x, tau);
    const nx = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) nx[i] = x[i]! - h * v[i]!;
    x = nx;
  }
  return x;
}

export interface SdeStepOut { next: Float32Array; mean: Float32Array; std: number; logProb: number }

/**
 * Flow-GRPO SDE-Euler step τ → τ−h with the same marginals as the ODE:
 *   σ_τ = a·√(τ/(1−τ)) (τ clamped ≤ tauMax), μ = x − h·[v + σ_τ²/(2τ)·(x + (1−τ)·v)], x' = μ + σ_τ·√h·n.
 * logProb = Σ log N(x' | μ, σ_τ²h) (full Gaussian, incl. constant). With a = 0 it is exactly the Euler step.
 * Pass `next` to score a given transition (for PPO/GRPO ratios) instead of sampling.
 */
export function flowSdeStep(x: Float32Array, v: Float32Array, tau: number, h: number, a: number, rng?: Rng, next?: Float32Array, tauMax = 0.95): SdeStepOut {
  const t = Math.min(tau, tauMax);
  const sig = a * Math.sqrt(t / (1 - t));
  const std = sig * Math.sqrt(h);
  const n = x.length, mean = new Float32Array(n);
  const c = tau > 0 ? (sig * sig) / (2 * tau) : 0;
  for (let i = 0; i < n; i++) mean[i] = x[i]! - h * (v[i]! + c * (x[i]! + (1 - tau) * v[i]!));
  let out = next;
  if (!out) {
    out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = mean[i]! + (std > 0 ? std * rng!.normal() : 0);
  }
  let logProb = 0;
  if (std > 0) {
    const inv = 1 / (2 * std * std), lz = Math.log(std) + 0.5 * Math.log(2 * Math.PI);
    for (let i = 0; i < n; i++) { const e = out[i]! - mean[i]!; logProb += -e * e * inv - lz; }
  }
  return { next: out, mean, std, logProb };
}

// ---------------------------------------------------------------------------------------------------------------
// Classifier-free guidance
// ---------------------------------------------------------------------------------------------------------------

/** out = uncond + w·(cond − uncond) (w = 0: unconditional, w = 1: conditional). */
export function cfgCombine(uncond: Float32Array, cond: Float32Array, w: number): Float32Array {
  const out = new Float32Array(cond.length);
  for (let i = 0; i < cond.length; i++) out[i] = uncond[i]! + w * (cond[i]! - uncond[i]!);
  return out;
}

/**
 * Per-sample null masking for CFG training: each row of `cond` (rowLen values) is replaced by the null value
 * (0 by default) with probability p. Returns the masked copy and the keep mask (1 = kept).
 */
export function cfgMask(cond: Float32Array, rowLen: number, p: number, rng: Rng, nullValue = 0): { masked: Float32Array; keep: Uint8Array } {
  const rows = cond.length / rowLen, keep = new Uint8Array(rows), masked = new Float32Array(cond.length);
  for (let r = 0; r < rows; r++) {
    keep[r] = rng.next() < p ? 0 : 1;
    for (let j = 0; j < rowLen; j++) masked[r * rowLen + j] = keep[r] ? cond[r * rowLen + j]! : nullValue;
  }
  return { masked, keep };
}

/** Gaussian noise of length n from the Rng. */
export function randn(rng: Rng, n: number, std = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = std * rng.normal();
  return out;
}
