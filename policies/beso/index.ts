/**
 * BESO (Reuss et al., RSS 2023): a score-based diffusion policy for goal-conditioned imitation from play, CPU-sized
 * (POLICIES.md §2.7): the minGPT backbone is replaced by a residual FiLM-MLP; everything else follows the authors' code.
 *
 * - EDM/Karras preconditioning: D(a; σ) = c_skip·a + c_out·F(c_in·a, c_noise = ln σ / 4, obs, goal), σ_data = 0.5,
 *   actions min-max normalised to [-1, 1].
 * - Training: σ per sample from a truncated log-logistic on [σ_min, σ_max] (loc ln σ_data, scale 0.5); plain MSE of
 *   F against the preconditioned target (a − c_skip·ã)/c_out; the goal is masked **per sample** with p = 0.1 (the
 *   whole goal → 0 and a keep-bit → 0) so one network is both goal-conditioned and goal-free.
 * - Sampling: exponential σ schedule σ_max → σ_min with a final 0; DDIM (default, 3 steps), Euler, Heun or
 *   Euler-ancestral (policies/common/schedules.ts); classifier-free guidance D_λ = D(∅) + λ·(D(g) − D(∅)):
 *   λ = 0 is the goal-free play policy, λ = 1 plain conditional sampling, λ > 1 sharpened goal-directed behaviour.
 * - Goals are future states of the same play episode (hindsight relabelling, see relabel.ts); a goal is `goalDims` of
 *   one observation frame, normalised with the observation normaliser of those dimensions.
 * - Horizon (the spec's "window, execute the last action"): the model denoises the actions of the observation window
 *   (To = 2 frames, Tp = 2 actions) and executes only the last one, re-planning every control step:
 * ```
 *   step       t-1  t
 *   observed   o    o
 *   predicted  a    a
 *   executed        x
 * ```
 * - EMA weights (decay 0.999) for evaluation.
 */
import * as tf from '@tensorflow/tfjs';
import type { Observation } from '../../sim/core/features.ts';
import type { Rng } from '../../sim/math/rng.ts';
import { BATCH_ACTION, BATCH_OBS, ChunkedPolicy, type ChunkedConfig } from '../common/chunked.ts';
import type { Activation } from '../common/dense.ts';
import { Mlp, defaultMlp, sinusoidalEmbedding, type WeightGetter } from '../common/nn.ts';
import { Normalizer } from '../common/normalizer.ts';
import type { ActOptions, PolicySpec } from '../common/policy.ts';
import { cfgCombine, cfgMask, edmPrecond, edmStep, exponentialSigmas, randn, sampleLogLogistic, type EdmSampler } from '../common/schedules.ts';
import type { Batch } from '../train/trainable.ts';

/** Batch key of the (raw, unnormalised) goal column: batch × goalDim. */
export const BATCH_GOAL = 'goal';

export interface BesoConfig extends ChunkedConfig {
  /** Indices into one flattened observation frame (obsKeys order) that form a goal; empty = the whole frame. */
  goalDims: number[];
  /** Observation key act() reads the goal from when the caller passes none ('' = none: goal-free play). */
  goalObsKey: string;
  /** EDM data std (actions are min-max normalised, so ≈ 0.5). */
  sigmaData: number;
  /** Noise range for training and the inference schedule. */
  sigmaMin: number;
  sigmaMax: number;
  /** Log-logistic training σ distribution: loc = ln(sigmaData), this scale. */
  sigmaScale: number;
  /** Sampler at inference ('ddim' is BESO's default). */
  sampler: EdmSampler;
  /** Denoising steps at inference (BESO: 3). */
  inferSteps: number;
  /** Default guidance weight λ when act() is not given one (Block-Push config: 2). */
  guidance: number;
  /** Probability of masking a sample's whole goal in training (classifier-free guidance). */
  goalMaskProb: number;
  /** Hindsight relabelling: the goal is the frame k ∈ [goalHorizonMin, goalHorizonMax] steps ahead (clipped to the episode end). */
  goalHorizonMin: number;
  goalHorizonMax: number;
  /** Width of the sinusoidal embedding of c_noise = ln σ / 4. */
  embDim: number;
  /** c_noise is multiplied by this before the sinusoidal embedding (max period 10⁴). */
  noiseEmbScale: number;
  /** Residual block width and count. */
  width: number;
  depth: number;
  act: Activation;
}

export function defaultBesoConfig(): BesoConfig {
  return {
    obsKeys: [], obsHorizon: 2, predHorizon: 2, actionHorizon: 1, obsNorm: 'minmax', actionNorm: 'minmax', emaDecay: 0.999,
    goalDims: [], goalObsKey: 'observation.goal', sigmaData: 0.5, sigmaMin: 0.005, sigmaMax: 1, sigmaScale: 0.5, sampler: 'ddim', inferSteps: 3, guidance: 2,
    goalMaskProb: 0.1, goalHorizonMin: 10, goalHorizonMax: 50, embDim: 32, noiseEmbScale: 1000, width: 256, depth: 3, act: 'silu',
  };
}

/** Extra per-call sampling options (experiments sweep them; act() falls back to the config). */
export interface BesoActOptions extends ActOptions {
  sampler?: EdmSampler;
  steps?: number;
}

export class BesoPolicy extends ChunkedPolicy<BesoConfig> {
  readonly method = 'beso';
  readonly net: Mlp;
  /** The network exported as model.json (layers_model.ts): the score model; embedding, masking and the EDM/DDIM sampler stay outside. */
  get networks(): readonly Mlp[] { return [this.net]; }
  /** Goal size and the frame indices it is taken from. */
  readonly goalDim: number;
  readonly goalIdx: number[];
  readonly goalNorm: Normalizer;

  constructor(spec: PolicySpec, seed: number) {
    super(spec, seed);
    const c = this.cfg;
    if (!(c.sigmaMin > 0 && c.sigmaMax > c.sigmaMin)) throw new Error(`beso: need 0 < sigmaMin < sigmaMax, got ${c.sigmaMin}, ${c.sigmaMax}`);
    this.goalIdx = c.goalDims.length ? [...c.goalDims] : Array.from({ length: this.frameDim }, (_, i) => i);
    for (const i of this.goalIdx) if (!(Number.isInteger(i) && i >= 0 && i < this.frameDim)) throw new Error(`beso: goalDims entry ${i} outside the observation frame (size ${this.frameDim})`);
    this.goalDim = this.goalIdx.length;
    const o = this.normalizers.obs!;
    this.goalNorm = new Normalizer(o.mode, this.goalIdx.map((i) => o.scale[i]!), this.goalIdx.map((i) => o.offset[i]!));
    // Input: [c_in·ã, c_noise, emb(c_noise), obs window, goal·keep, keep]; every block FiLM-modulated by the same conditioning.
    const condDim = 1 + c.embDim + this.obsDim + this.goalDim + 1;
    this.net = new Mlp(this.params, 'beso', defaultMlp(this.chunkDim + condDim, this.chunkDim, {
      hidden: Array(c.depth).fill(c.width), act: c.act, residual: true, condDim,
    }));
    this.finishInit();
  }

  /** The goal vector of a raw observation frame (flattened in obsKeys order). */
  goalOfFrame(frame: Float32Array): Float32Array {
    return Float32Array.from(this.goalIdx, (i) => frame[i]!);
  }

  /** Raw network F(c_in·x, c_noise | obs, goal, keep) on normalised tensors. */
  F(xIn: tf.Tensor2D, cNoise: tf.Tensor2D, obsN: tf.Tensor2D, goalN: tf.Tensor2D, keep: tf.Tensor2D, w: WeightGetter = this.weights()): tf.Tensor2D {
    // c_noise = ln σ / 4 spans only ~[−1.3, 0]: embed it raw (BESO's Linear(1 → d)) and as sinusoids of
    // noiseEmbScale·c_noise (the usual DDPM timestep scale), so both coarse and fine noise levels are resolved.
    const emb = sinusoidalEmbedding(tf.mul(cNoise, this.cfg.noiseEmbScale) as tf.Tensor2D, this.cfg.embDim);
    const cond = tf.concat([cNoise, emb, obsN, tf.mul(goalN, keep), keep], 1) as tf.Tensor2D;
    return this.net.apply(tf.concat([xIn, cond], 1), cond, w);
  }

  /** Per-sample goal masking for CFG training: masked rows get goal 0 and keep-bit 0 (see cfgMask). */
  maskGoals(goalN: Float32Array, rng: Rng): { goal: Float32Array; keep: Float32Array } {
    const { masked, keep } = cfgMask(goalN, this.goalDim, this.cfg.goalMaskProb, rng);
    return { goal: masked, keep: Float32Array.from(keep) };
  }

  /** Training loss: batch needs 'obs' (B × obsDim), 'action' (B × chunkDim) and 'goal' (B × goalDim), all raw. */
  override loss(batch: Batch, rng: Rng): { loss: tf.Scalar; metrics: Record<string, tf.Scalar> } {
    const o = batch[BATCH_OBS], a = batch[BATCH_ACTION], g = batch[BATCH_GOAL];
    if (!o || !a || !g) throw new Error(`beso.loss: batch needs '${BATCH_OBS}', '${BATCH_ACTION}' and '${BATCH_GOAL}' (hindsight goals; see policies/beso/relabel.ts)`);
    const B = o.shape[0]!, D = this.chunkDim, c = this.cfg;
    if (g.data.length !== B * this.goalDim) throw new Error(`beso.loss: goal column has ${g.data.length} values, expected ${B} × ${this.goalDim}`);
    const obsN = this.normObsWindow(o.data);
    const actN = this.normActChunk(a.data);
    const { goal, keep } = this.maskGoals(this.goalNorm.normalize(g.data), rng);
    // σ per sample (truncated log-logistic) and the EDM coefficients.
    const sig = new Float32Array(B), cSkip = new Float32Array(B), cOut = new Float32Array(B), cIn = new Float32Array(B), cNoise = new Float32Array(B);
    for (let i = 0; i < B; i++) {
      const s = sampleLogLogistic(rng, c.sigmaMin, c.sigmaMax, Math.log(c.sigmaData), c.sigmaScale);
      const p = edmPrecond(s, c.sigmaData);
      sig[i] = s; cSkip[i] = p.cSkip; cOut[i] = p.cOut; cIn[i] = p.cIn; cNoise[i] = p.cNoise;
    }
    const noise = randn(rng, B * D);
    const xNoisy = new Float32Array(B * D), target = new Float32Array(B * D), xIn = new Float32Array(B * D);
    for (let i = 0; i < B * D; i++) {
      const r = Math.floor(i / D);
      xNoisy[i] = actN[i]! + sig[r]! * noise[i]!;
      target[i] = (actN[i]! - cSkip[r]! * xNoisy[i]!) / cOut[r]!;
      xIn[i] = cIn[r]! * xNoisy[i]!;
    }
    const pred = this.F(tf.tensor2d(xIn, [B, D]), tf.tensor2d(cNoise, [B, 1]), tf.tensor2d(obsN, [B, this.obsDim]),
      tf.tensor2d(goal, [B, this.goalDim]), tf.tensor2d(keep, [B, 1]), (n) => this.params.get(n));
    const mse = tf.mean(tf.square(tf.sub(pred, tf.tensor2d(target, [B, D])))) as tf.Scalar;
    return { loss: mse, metrics: { 'losses/edm_mse': tf.clone(mse) } };
  }

  /** EDM target (a − c_skip·ã)/c_out for given clean a, noisy ã and σ (exposed for tests). */
  static target(a: number, aNoisy: number, sigma: number, sigmaData = 0.5): number {
    const p = edmPrecond(sigma, sigmaData);
    return (a - p.cSkip * aNoisy) / p.cOut;
  }

  protected lossNormalized(): never { throw new Error('beso: use loss(batch) (needs goals)'); }

  /**
   * Guided denoiser over `rows` rows: D_λ(x; σ) = D(x; σ, ∅) + λ·(D(x; σ, g) − D(x; σ, ∅)).
   * λ = 0 runs only the goal-free branch and λ = 1 only the conditional one unless `bothBranches` (tests).
   */
  denoise(x: Float32Array, sigma: number, obsN: Float32Array, goalN: Float32Array | null, lambda: number, rows: number, bothBranches = false): Float32Array {
    const c = this.cfg, p = edmPrecond(sigma, c.sigmaData), D = this.chunkDim, w = this.weights();
    const needU = goalN === null || lambda !== 1 || bothBranches, needC = goalN !== null && (lambda !== 0 || bothBranches);
    const run = (goal: Float32Array | null): Float32Array => {
      const f = tf.tidy(() => {
        const xIn = tf.mul(tf.tensor2d(x, [rows, D]), p.cIn) as tf.Tensor2D;
        const g = goal ? tf.tensor2d(goal, [rows, this.goalDim]) : tf.zeros([rows, this.goalDim]) as tf.Tensor2D;
        const keep = tf.fill([rows, 1], goal ? 1 : 0) as tf.Tensor2D;
        return this.F(xIn, tf.fill([rows, 1], p.cNoise) as tf.Tensor2D, tf.tensor2d(obsN, [rows, this.obsDim]), g, keep, w);
      });
      const fv = f.dataSync() as Float32Array;
      f.dispose();
      const out = new Float32Array(rows * D);
      for (let i = 0; i < out.length; i++) out[i] = p.cSkip * x[i]! + p.cOut * fv[i]!;
      return out;
    };
    const u = needU ? run(null) : null;
    const cnd = needC ? run(goalN) : null;
    if (!cnd) return u!;
    if (!u) return cnd;
    return cfgCombine(u, cnd, lambda);
  }

  /** act(): the goal comes from opts.goal, else from the observation's `goalObsKey`, else none (goal-free play). */
  override async act(obs: Observation, opts: BesoActOptions = {}): Promise<Float32Array> {
    const key = this.cfg.goalObsKey;
    if (!opts.goal && key && obs[key]) opts = { ...opts, goal: Float32Array.from(obs[key]!) };
    return super.act(obs, opts);
  }

  /** Sample normalised action windows for `rows` normalised observation windows. */
  protected predict(obsN: Float32Array, rows: number, opts: BesoActOptions): Float32Array {
    const c = this.cfg;
    const lambda = opts.guidance ?? c.guidance;
    let goalN: Float32Array | null = null;
    if (opts.goal) {
      if (opts.goal.length !== rows * this.goalDim) throw new Error(`beso.act: goal has ${opts.goal.length} values, expected ${rows} × ${this.goalDim}`);
      goalN = this.goalNorm.normalize(opts.goal);
    }
    const sigmas = exponentialSigmas(opts.steps ?? c.inferSteps, c.sigmaMin, c.sigmaMax);
    let x = randn(this.noise, rows * this.chunkDim, c.sigmaMax);
    const Dfn = (xx: Float32Array, s: number) => this.denoise(xx, s, obsN, goalN, lambda, rows);
    const kind = opts.sampler ?? c.sampler;
    for (let i = 0; i + 1 < sigmas.length; i++) x = edmStep(kind, Dfn, x, sigmas[i]!, sigmas[i + 1]!, this.noise);
    for (let i = 0; i < x.length; i++) x[i] = Math.max(-1, Math.min(1, x[i]!));
    return x;
  }

  // Normalisation of raw windows/chunks (the base class keeps its tiled normalisers private).
  private obsTile: Normalizer | null = null;
  private actTile: Normalizer | null = null;
  normObsWindow(raw: Float32Array): Float32Array {
    this.obsTile ??= tileNorm(this.normalizers.obs!, this.cfg.obsHorizon);
    return this.obsTile.normalize(raw);
  }
  normActChunk(raw: Float32Array): Float32Array {
    this.actTile ??= tileNorm(this.normalizers.action!, this.cfg.predHorizon);
    return this.actTile.normalize(raw);
  }

  override dispose(): void {
    super.dispose();
    this.goalNorm.dispose();
  }
}

function tileNorm(n: Normalizer, times: number): Normalizer {
  const s = new Float32Array(n.dim * times), o = new Float32Array(n.dim * times);
  for (let i = 0; i < times; i++) { s.set(n.scale, i * n.dim); o.set(n.offset, i * n.dim); }
  return new Normalizer(n.mode, s, o);
}
