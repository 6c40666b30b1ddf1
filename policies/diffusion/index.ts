/**
 * Diffusion Policy (Chi et al.), CPU-sized: ε-prediction DDPM training over normalised action chunks, DDIM sampling,
 * conditioned jointly on every observation modality (flattened window of To frames; with `encoder: 'flat'`, the
 * default, depth images are flattened and go through the same MLP; `encoder: 'pool'` encodes each depth frame with
 * the 2×2-pool + Dense encoder of common/encoders.ts first), receding-horizon execution. The network is a residual MLP whose input is
 * [x_t, obs, emb(t)] and whose blocks are FiLM-modulated by [emb(t), obs].
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../sim/math/rng.ts';
import { ChunkedPolicy, type ChunkedConfig } from '../common/chunked.ts';
import type { Activation } from '../common/dense.ts';
import { ObsEncoder, type DepthEncoding } from '../common/encoders.ts';
import { Mlp, defaultMlp, sinusoidalEmbedding, type WeightGetter } from '../common/nn.ts';
import type { PolicySpec, ActOptions } from '../common/policy.ts';
import { ddimStep, ddimTimesteps, ddpmSchedule, randn, type BetaSchedule, type DdpmSchedule } from '../common/schedules.ts';

export interface DiffusionConfig extends ChunkedConfig {
  /** Diffusion steps of training (DDPM T). */
  trainSteps: number;
  /** DDIM steps at inference. */
  inferSteps: number;
  betaSchedule: BetaSchedule;
  /** Clip the predicted clean sample to ±clipSample during sampling (normalised actions live in [-1, 1]); a clipped x̂₀ also re-derives its ε (see ddimStep), so sampling stays finite far outside the training data. */
  clipSample: number;
  /** Width of the sinusoidal timestep embedding. */
  embDim: number;
  /** Residual block width and count. */
  width: number;
  depth: number;
  act: Activation;
  /**
   * Observation encoder: 'flat' (default; every float, depth pixels included, goes straight into the input and every
   * FiLM layer) or 'pool' (depth images 2×2-pooled → Dense + ReLU per frame, `policies/common/encoders.ts`).
   */
  encoder?: DepthEncoding;
  /** Depth features per frame with encoder 'pool'. */
  depthFeatures?: number;
}

export function defaultDiffusionConfig(): DiffusionConfig {
  return {
    obsKeys: [], obsHorizon: 2, predHorizon: 8, actionHorizon: 4, obsNorm: 'minmax', actionNorm: 'minmax', emaDecay: 0.995,
    trainSteps: 100, inferSteps: 10, betaSchedule: 'squaredcos_cap_v2', clipSample: 1, embDim: 32, width: 256, depth: 3, act: 'relu',
    encoder: 'flat', depthFeatures: 64,
  };
}

export class DiffusionPolicy extends ChunkedPolicy<DiffusionConfig> {
  readonly method = 'diffusion';
  readonly net: Mlp;
  /** The network exported as model.json (layers_model.ts): the noise predictor; the timestep embedding and DDIM loop stay outside. */
  get networks(): readonly Mlp[] { return [this.net]; }
  readonly sched: DdpmSchedule;
  /** The observation encoder (null with encoder 'flat': the normalised window is the feature row). */
  readonly enc: ObsEncoder | null = null;
  private sqrtAb: Float32Array;
  private sqrt1mAb: Float32Array;

  constructor(spec: PolicySpec, seed: number) {
    super(spec, seed);
    const c = this.cfg;
    this.sched = ddpmSchedule(c.trainSteps, c.betaSchedule);
    this.sqrtAb = Float32Array.from(this.sched.alphaBars, (a) => Math.sqrt(a));
    this.sqrt1mAb = Float32Array.from(this.sched.alphaBars, (a) => Math.sqrt(1 - a));
    let od = this.obsDim;
    if ((c.encoder ?? 'flat') === 'pool') {
      this.enc = new ObsEncoder(this.params, 'dp/enc', this.obsKeys, spec.features.observation, c.obsHorizon, { keys: this.obsKeys, depth: 'pool', depthFeatures: c.depthFeatures ?? 64 });
      od = this.enc.outDim;
    } else if (c.encoder !== undefined && c.encoder !== 'flat') throw new Error(`diffusion: encoder must be 'flat' or 'pool', got '${String(c.encoder)}'`);
    this.net = new Mlp(this.params, 'dp', defaultMlp(this.chunkDim + od + c.embDim, this.chunkDim, {
      hidden: Array(c.depth).fill(c.width), act: c.act, residual: true, condDim: c.embDim + od, ...(this.enc ? { inputGrad: true } : {}),
    }));
    this.finishInit();
  }

  /** ε̂(x_t, t | obs) for rows of normalised inputs. */
  epsT(x: tf.Tensor2D, t: tf.Tensor2D, obsN: tf.Tensor2D, w: WeightGetter = (n) => this.params.get(n)): tf.Tensor2D {
    const emb = sinusoidalEmbedding(t, this.cfg.embDim);
    const y = this.enc ? this.enc.apply(obsN, w) : obsN;
    const cond = tf.concat([emb, y], 1);
    return this.net.apply(tf.concat([x, y, emb], 1), cond, w);
  }

  protected lossNormalized(obsN: tf.Tensor2D, actN: tf.Tensor2D, rng: Rng): { loss: tf.Scalar; metrics: Record<string, tf.Scalar> } {
    const B = actN.shape[0], D = this.chunkDim;
    const ts = new Float32Array(B), a = new Float32Array(B), s = new Float32Array(B);
    for (let i = 0; i < B; i++) { const t = rng.int(this.cfg.trainSteps); ts[i] = t; a[i] = this.sqrtAb[t]!; s[i] = this.sqrt1mAb[t]!; }
    const eps = tf.tensor2d(randn(rng, B * D), [B, D]);
    const xt = tf.add(tf.mul(actN, tf.tensor2d(a, [B, 1])), tf.mul(eps, tf.tensor2d(s, [B, 1]))) as tf.Tensor2D;
    const pred = this.epsT(xt, tf.tensor2d(ts, [B, 1]), obsN);
    const mse = tf.mean(tf.square(tf.sub(pred, eps))) as tf.Scalar;
    return { loss: mse, metrics: { 'losses/eps_mse': tf.clone(mse) } };
  }

  /** DDIM sampling with `opts.steps` steps (default the config's inferSteps). */
  protected predict(obsN: Float32Array, rows: number, opts: ActOptions): Float32Array {
    const w = this.weights();
    const ts = ddimTimesteps(this.cfg.trainSteps, opts.steps ?? this.cfg.inferSteps);
    let x = randn(this.noise, rows * this.chunkDim);
    const obsT = tf.tensor2d(obsN, [rows, this.obsDim]);
    try {
      for (let i = 0; i < ts.length; i++) {
        const t = ts[i]!;
        const eps = tf.tidy(() => this.epsT(tf.tensor2d(x, [rows, this.chunkDim]), tf.fill([rows, 1], t) as tf.Tensor2D, obsT, w).dataSync() as Float32Array);
        x = ddimStep(this.sched, x, eps, t, i + 1 < ts.length ? ts[i + 1]! : -1, 0, undefined, this.cfg.clipSample);
      }
    } finally {
      obsT.dispose();
    }
    return x;
  }
}
