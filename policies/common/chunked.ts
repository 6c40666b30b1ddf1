/**
 * Base of the offline, chunked policies (BC, Diffusion Policy, and the method issues built on them): flattens the
 * float observation features of a window of To frames into one vector, normalises observations and actions with
 * normalisers it owns, predicts a chunk of Tp actions and executes Ta of them (receding horizon, see chunking.ts).
 *
 * Horizon table (defaults of Diffusion Policy: To = 2, Tp = 8, Ta = 4):
 * ```
 *   step       t-1  t    t+1  t+2  t+3  t+4  t+5  t+6
 *   observed   o    o
 *   predicted  a    a    a    a    a    a    a    a
 *   executed        x    x    x    x
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { ACTION, OBS_GOAL, featureSize, type FeatureArray, type Features, type Observation } from '../../sim/core/features.ts';
import { Rng } from '../../sim/math/rng.ts';
import { RecedingHorizon, checkHorizons, type Horizons } from './chunking.ts';
import { Normalizer, type NormMode, type NormStats } from './normalizer.ts';
import { Ema, Params } from './params.ts';
import type { ActOptions, MethodPolicy, PolicySpec } from './policy.ts';
import type { WeightGetter } from './nn.ts';
import type { Batch } from '../train/trainable.ts';

export interface ChunkedConfig extends Horizons {
  /** Observation keys the policy reads (float features, flattened in this order). Empty = every observation feature. */
  obsKeys: string[];
  /** Normalisation of observations. */
  obsNorm: NormMode;
  /** Normalisation of actions ('minmax' → [-1, 1]). */
  actionNorm: NormMode;
  /** EMA decay of the weights (0 = no EMA). */
  emaDecay: number;
}

/** Batch keys produced by `chunkedBatch`. */
export const BATCH_OBS = 'obs', BATCH_ACTION = 'action';

export function resolveObsKeys(cfg: ChunkedConfig, obsFeatures: Features): string[] {
  const keys = cfg.obsKeys.length ? cfg.obsKeys : Object.keys(obsFeatures).sort();
  for (const k of keys) if (!obsFeatures[k]) throw new Error(`policy: observation feature '${k}' not available (have: ${Object.keys(obsFeatures).join(', ')})`);
  return keys;
}

/** Per-frame normaliser stats for the concatenation of `keys`, from dataset stats. */
export function concatStats(keys: string[], stats: Record<string, NormStats>): NormStats {
  const out: NormStats = { min: [], max: [], mean: [], std: [] };
  for (const k of keys) {
    const s = stats[k];
    if (!s) throw new Error(`policy: dataset stats have no feature '${k}'`);
    out.min.push(...s.min); out.max.push(...s.max); out.mean.push(...s.mean); out.std.push(...s.std);
  }
  return out;
}

function tile(n: Normalizer, times: number): Normalizer {
  const s = new Float32Array(n.dim * times), o = new Float32Array(n.dim * times);
  for (let i = 0; i < times; i++) { s.set(n.scale, i * n.dim); o.set(n.offset, i * n.dim); }
  return new Normalizer(n.mode, s, o);
}

export abstract class ChunkedPolicy<C extends ChunkedConfig = ChunkedConfig> implements MethodPolicy {
  readonly params: Params;
  readonly horizons: Horizons;
  readonly normalizers: Record<string, Normalizer>;
  readonly obsKeys: string[];
  /** Flat size of one observation frame / of the To-frame window. */
  readonly frameDim: number;
  readonly obsDim: number;
  /** Action size and chunk size Tp × A. */
  readonly actDim: number;
  readonly chunkDim: number;
  ema: Ema | null = null;
  useEma = true;
  protected noise = new Rng(0);
  /** Batch row (env index) of each row of the current `predict` call: [0] from act(), the re-planned rows from actBatch. */
  protected planRows: number[] = [0];
  private rh: RecedingHorizon;
  private obsNormW: Normalizer;
  private actNormW: Normalizer;
  readonly actionLow: Float32Array;
  readonly actionHigh: Float32Array;

  abstract readonly method: string;
  abstract readonly networks: readonly import('./nn.ts').Mlp[];

  constructor(readonly spec: PolicySpec, seed: number) {
    const cfg = spec.config as unknown as C;
    checkHorizons(cfg);
    this.horizons = { obsHorizon: cfg.obsHorizon, predHorizon: cfg.predHorizon, actionHorizon: cfg.actionHorizon };
    this.obsKeys = resolveObsKeys(cfg, spec.features.observation);
    this.frameDim = this.obsKeys.reduce((a, k) => a + featureSize(spec.features.observation[k]!), 0);
    this.obsDim = this.frameDim * cfg.obsHorizon;
    const aspec = spec.features.action[ACTION];
    if (!aspec) throw new Error(`policy: action features have no '${ACTION}'`);
    this.actDim = featureSize(aspec);
    this.chunkDim = this.actDim * cfg.predHorizon;
    this.actionLow = new Float32Array(this.actDim).fill(aspec.low ?? -Infinity);
    this.actionHigh = new Float32Array(this.actDim).fill(aspec.high ?? Infinity);
    const oj = spec.normalizers.obs, aj = spec.normalizers.action;
    const obsN = oj ? Normalizer.fromJSON(oj, 'normalizers.obs') : Normalizer.identity(this.frameDim);
    const actN = aj ? Normalizer.fromJSON(aj, 'normalizers.action') : Normalizer.identity(this.actDim);
    if (obsN.dim !== this.frameDim || actN.dim !== this.actDim) throw new Error(`policy: normaliser sizes (${obsN.dim}, ${actN.dim}) do not match features (${this.frameDim}, ${this.actDim})`);
    this.normalizers = { obs: obsN, action: actN };
    this.obsNormW = tile(obsN, cfg.obsHorizon);
    this.actNormW = tile(actN, cfg.predHorizon);
    this.rh = new RecedingHorizon(this.horizons);
    this.params = new Params(new Rng(seed));
  }

  get name(): string { return this.method; }
  get cfg(): C { return this.spec.config as unknown as C; }
  get inputFeatures(): Features {
    return Object.fromEntries(this.obsKeys.map((k) => [k, this.spec.features.observation[k]!]));
  }
  get outputFeatures(): Features { return this.spec.features.action; }

  /** Call at the end of the subclass constructor once all parameters exist. */
  protected finishInit(): void {
    if (this.cfg.emaDecay > 0) this.ema = new Ema(this.params, this.cfg.emaDecay);
  }

  protected weights(): WeightGetter {
    if (this.useEma && this.ema) { const s = this.ema.shadow; return (n) => s.get(n)!; }
    return (n) => this.params.get(n);
  }

  seedNoise(seed: number): void { this.noise = new Rng(seed); }

  reset(): void { this.rh.reset(); }

  /** Flatten one observation frame in obsKeys order. */
  flattenFrame(obs: Observation, out: Float32Array, offset: number): void {
    let o = offset;
    for (const k of this.obsKeys) {
      const v = obs[k];
      if (!v) throw new Error(`${this.method}.act: observation has no '${k}'`);
      for (let i = 0; i < v.length; i++) out[o++] = v[i]!;
    }
  }

  /** Predict a normalised action chunk (chunkDim × rows) from normalised observation windows (obsDim × rows). */
  protected abstract predict(obsN: Float32Array, rows: number, opts: ActOptions): Float32Array;

  /** Loss over normalised tensors. */
  protected abstract lossNormalized(obsN: tf.Tensor2D, actN: tf.Tensor2D, rng: Rng): { loss: tf.Scalar; metrics?: Record<string, tf.Scalar> };

  loss(batch: Batch, rng: Rng): { loss: tf.Scalar; metrics?: Record<string, tf.Scalar> } {
    const o = batch[BATCH_OBS], a = batch[BATCH_ACTION];
    if (!o || !a) throw new Error(`${this.method}.loss: batch needs '${BATCH_OBS}' and '${BATCH_ACTION}'`);
    const B = o.shape[0]!;
    const obsN = tf.tensor2d(this.obsNormW.normalize(o.data), [B, this.obsDim]);
    const actN = tf.tensor2d(this.actNormW.normalize(a.data), [B, this.chunkDim]);
    return this.lossNormalized(obsN, actN, rng);
  }

  /** Denormalised chunk for a batch of raw observation windows (rows × obsDim) — used by tests and vector eval. */
  predictRaw(obsWindows: Float32Array, rows: number, opts: ActOptions = {}): Float32Array {
    const n = this.predict(this.obsNormW.normalize(obsWindows), rows, opts);
    const out = this.actNormW.denormalize(n);
    for (let i = 0; i < out.length; i++) {
      const j = i % this.actDim;
      out[i] = Math.min(this.actionHigh[j]!, Math.max(this.actionLow[j]!, out[i]!));
    }
    return out;
  }

  async act(obs: Observation, opts: ActOptions = {}): Promise<Float32Array> {
    return this.actSync(obs, opts);
  }

  /** Synchronous act() (the computation is synchronous; for sync action sources such as `stride rollout`). */
  actSync(obs: Observation, opts: ActOptions = {}): Float32Array {
    const window = this.rh.observe(withGoal(obs, this.obsKeys, opts.goal));
    if (this.rh.needsPlan()) {
      const flat = new Float32Array(this.obsDim);
      window.forEach((f, i) => this.flattenFrame(f, flat, i * this.frameDim));
      this.planRows = [0];
      this.rh.setPlan(this.predictRaw(flat, 1, opts), this.actDim);
    }
    return this.rh.next();
  }

  private rhs: RecedingHorizon[] = [];

  /** Start `rows` independent episodes for actBatch (vectorised evaluation). */
  resetBatch(rows: number): void {
    this.rhs = Array.from({ length: rows }, () => new RecedingHorizon(this.horizons));
  }

  /**
   * One action per env for a batch observation (rows × feature size per key). Envs whose plan ran out are re-planned
   * together in one batched sampler call. Rows with active[i] = 0 get zeros and keep their state. `opts.goal` holds
   * one goal per row (rows × goal size) — a policy that takes its goal as the `observation.goal` input reads it from
   * there, in place of the observation's own `observation.goal` when it has one.
   */
  actBatch(obs: Readonly<Record<string, FeatureArray>>, rows: number, active?: Uint8Array, opts: ActOptions = {}): Float32Array {
    if (this.rhs.length !== rows) this.resetBatch(rows);
    const out = new Float32Array(rows * this.actDim);
    const plan: number[] = [];
    const windows: Observation[][] = [];
    for (let i = 0; i < rows; i++) {
      if (active && !active[i]) continue;
      const o: Record<string, FeatureArray> = {};
      for (const k of this.obsKeys) {
        const size = featureSize(this.spec.features.observation[k]!);
        // an explicit goal in the act options wins over the observation's own (e.g. a study's evaluation goal)
        const src = (k === OBS_GOAL ? opts.goal : undefined) ?? obs[k];
        if (!src) throw new Error(`${this.method}: observation has no '${k}'${k === OBS_GOAL ? ' (and no goal in the act options)' : ''}`);
        o[k] = src.subarray(i * size, (i + 1) * size);
      }
      windows[i] = this.rhs[i]!.observe(o);
      if (this.rhs[i]!.needsPlan()) plan.push(i);
    }
    if (plan.length) {
      const flat = new Float32Array(plan.length * this.obsDim);
      plan.forEach((i, r) => windows[i]!.forEach((f, t) => this.flattenFrame(f, flat, r * this.obsDim + t * this.frameDim)));
      const G = opts.goal ? opts.goal.length / rows : 0;
      const planOpts = opts.goal ? { ...opts, goal: Float32Array.from(plan.flatMap((i) => Array.from(opts.goal!.subarray(i * G, (i + 1) * G)))) } : opts;
      this.planRows = plan;
      const chunks = this.predictRaw(flat, plan.length, planOpts);
      plan.forEach((i, r) => this.rhs[i]!.setPlan(chunks.subarray(r * this.chunkDim, (r + 1) * this.chunkDim), this.actDim));
    }
    for (let i = 0; i < rows; i++) if (!active || active[i]) out.set(this.rhs[i]!.next(), i * this.actDim);
    return out;
  }

  dispose(): void {
    this.params.dispose();
    this.ema?.dispose();
    for (const n of [...Object.values(this.normalizers), this.obsNormW, this.actNormW]) n.dispose();
  }
}

/** `obs` with the act options' goal as its `observation.goal` when the policy reads one (it replaces the observation's own). */
function withGoal(obs: Observation, keys: readonly string[], goal: Float32Array | undefined): Observation {
  return goal && keys.includes(OBS_GOAL) ? { ...obs, [OBS_GOAL]: goal } : obs;
}

/** Build the training batch for a chunked policy from a SequenceSampler batch (obs keys concatenated per frame). */
export function chunkedBatch(
  sb: { batchSize: number; obs: Record<string, Float32Array>; action: Float32Array },
  keys: string[], sizes: number[], obsHorizon: number, predHorizon: number, actDim: number,
): Batch {
  const B = sb.batchSize, frame = sizes.reduce((a, b) => a + b, 0);
  const obs = new Float32Array(B * obsHorizon * frame);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < obsHorizon; t++) {
      let o = (b * obsHorizon + t) * frame;
      keys.forEach((k, ki) => {
        const size = sizes[ki]!, src = sb.obs[k]!, s0 = (b * obsHorizon + t) * size;
        for (let j = 0; j < size; j++) obs[o++] = src[s0 + j]!;
      });
    }
  }
  return { [BATCH_OBS]: { data: obs, shape: [B, obsHorizon * frame] }, [BATCH_ACTION]: { data: sb.action, shape: [B, predHorizon * actDim] } };
}
