/**
 * PPO policy: Gaussian actor (MLP mean, state-independent log-std) and a separate MLP critic over normalised
 * observations (running mean/std, clipped to ±obsClip). `act()` returns the mean action (deterministic evaluation)
 * clipped to the action bounds; the trainer (train.ts) samples.
 */
import * as tf from '@tensorflow/tfjs';
import { ACTION, featureSize, type Features, type Observation } from '../../sim/core/features.ts';
import { Rng } from '../../sim/math/rng.ts';
import type { Horizons } from '../common/chunking.ts';
import { resolveObsKeys } from '../common/chunked.ts';
import type { Activation } from '../common/dense.ts';
import { Mlp, defaultMlp } from '../common/nn.ts';
import { Normalizer } from '../common/normalizer.ts';
import { Params, type Ema } from '../common/params.ts';
import type { MethodPolicy, PolicySpec } from '../common/policy.ts';
import { clippedSurrogate, gaussianLogProb } from '../common/rl.ts';
import type { Batch } from '../train/trainable.ts';

export interface PpoConfig {
  /** Observation keys (float features, flattened); empty = all. */
  obsKeys: string[];
  hidden: number[];
  act: Activation;
  /** Initial log standard deviation of the Gaussian. */
  initLogStd: number;
  /** Parallel environments and steps per env per iteration. */
  numEnvs: number;
  rolloutSteps: number;
  epochs: number;
  minibatches: number;
  gamma: number;
  lambda: number;
  /** Clip ε of the ratio. */
  clip: number;
  entCoef: number;
  vfCoef: number;
  /** Normalised observations are clipped to ±obsClip. */
  obsClip: number;
}

export function defaultPpoConfig(): PpoConfig {
  return {
    obsKeys: [], hidden: [64, 64], act: 'tanh', initLogStd: -0.5, numEnvs: 8, rolloutSteps: 128, epochs: 4, minibatches: 4,
    gamma: 0.99, lambda: 0.95, clip: 0.2, entCoef: 0, vfCoef: 0.5, obsClip: 10,
  };
}

export const PPO_BATCH = { obs: 'obs', act: 'act', logp: 'logp', adv: 'adv', ret: 'ret' } as const;

export class PpoPolicy implements MethodPolicy {
  readonly method = 'ppo';
  readonly params: Params;
  readonly actor: Mlp;
  readonly critic: Mlp;
  /** The networks exported as model.json (layers_model.ts): actor mean, critic, and logStd as a constant output. */
  get networks(): readonly Mlp[] { return [this.actor, this.critic]; }
  readonly obsKeys: string[];
  readonly obsDim: number;
  readonly actDim: number;
  readonly horizons: Horizons = { obsHorizon: 1, predHorizon: 1, actionHorizon: 1 };
  ema: Ema | null = null;
  useEma = false;
  /** Observation normaliser (mean-std); the trainer updates it from rollouts. */
  obsNorm: Normalizer;
  readonly actionLow: Float32Array;
  readonly actionHigh: Float32Array;
  private specBase: PolicySpec;

  constructor(spec: PolicySpec, seed: number) {
    this.specBase = spec;
    const c = this.cfg;
    this.obsKeys = resolveObsKeys({ obsKeys: c.obsKeys } as never, spec.features.observation);
    this.obsDim = this.obsKeys.reduce((a, k) => a + featureSize(spec.features.observation[k]!), 0);
    const aspec = spec.features.action[ACTION];
    if (!aspec) throw new Error(`ppo: action features have no '${ACTION}'`);
    this.actDim = featureSize(aspec);
    this.actionLow = new Float32Array(this.actDim).fill(aspec.low ?? -Infinity);
    this.actionHigh = new Float32Array(this.actDim).fill(aspec.high ?? Infinity);
    this.obsNorm = spec.normalizers.obs ? Normalizer.fromJSON(spec.normalizers.obs, 'normalizers.obs') : Normalizer.identity(this.obsDim);
    this.params = new Params(new Rng(seed));
    this.actor = new Mlp(this.params, 'pi', defaultMlp(this.obsDim, this.actDim, { hidden: c.hidden, act: c.act }));
    this.critic = new Mlp(this.params, 'vf', defaultMlp(this.obsDim, 1, { hidden: c.hidden, act: c.act }));
    const ls = this.params.add('pi/logStd', [this.actDim], 'zeros');
    ls.assign(tf.fill([this.actDim], c.initLogStd));
    // Smaller initial policy output (CleanRL uses std 0.01 for the last actor layer).
    const W = this.params.get('pi/out/W');
    W.assign(tf.mul(W, 0.01));
  }

  get cfg(): PpoConfig { return this.specBase.config as unknown as PpoConfig; }
  get spec(): PolicySpec { return { ...this.specBase, normalizers: { obs: this.obsNorm.toJSON() } }; }
  get name(): string { return 'ppo'; }
  get normalizers(): Record<string, Normalizer> { return { obs: this.obsNorm }; }
  get inputFeatures(): Features { return Object.fromEntries(this.obsKeys.map((k) => [k, this.specBase.features.observation[k]!])); }
  get outputFeatures(): Features { return this.specBase.features.action; }

  seedNoise(): void {}
  reset(): void {}

  /** Flatten + normalise + clip observations of `rows` envs (batch arrays are rows × size per key). */
  normalizeBatch(obs: Record<string, ArrayLike<number>>, rows: number): Float32Array {
    const raw = new Float32Array(rows * this.obsDim);
    let off = 0;
    for (const k of this.obsKeys) {
      const size = featureSize(this.specBase.features.observation[k]!), src = obs[k];
      if (!src) throw new Error(`ppo: observation has no '${k}'`);
      for (let r = 0; r < rows; r++) for (let j = 0; j < size; j++) raw[r * this.obsDim + off + j] = src[r * size + j]!;
      off += size;
    }
    return this.clipObs(this.obsNorm.normalize(raw));
  }

  flattenRaw(obs: Record<string, ArrayLike<number>>, rows: number): Float32Array {
    const raw = new Float32Array(rows * this.obsDim);
    let off = 0;
    for (const k of this.obsKeys) {
      const size = featureSize(this.specBase.features.observation[k]!), src = obs[k]!;
      for (let r = 0; r < rows; r++) for (let j = 0; j < size; j++) raw[r * this.obsDim + off + j] = src[r * size + j]!;
      off += size;
    }
    return raw;
  }

  clipObs(x: Float32Array): Float32Array {
    const c = this.cfg.obsClip;
    for (let i = 0; i < x.length; i++) x[i] = Math.max(-c, Math.min(c, x[i]!));
    return x;
  }

  /** Mean action and value for rows of normalised observations. */
  forward(obsN: Float32Array, rows: number): { mean: Float32Array; value: Float32Array; logStd: Float32Array } {
    let mean!: Float32Array, value!: Float32Array;
    tf.tidy(() => {
      const x = tf.tensor2d(obsN, [rows, this.obsDim]);
      mean = this.actor.apply(x).dataSync() as Float32Array;
      value = this.critic.apply(x).dataSync() as Float32Array;
    });
    return { mean: mean.slice(), value: value.slice(), logStd: this.params.get('pi/logStd').dataSync().slice() as Float32Array };
  }

  async act(obs: Observation): Promise<Float32Array> {
    return this.actSync(obs);
  }

  resetBatch(): void {}

  /** Mean actions for a batch observation (rows × size per key). */
  actBatch(obs: Readonly<Record<string, ArrayLike<number>>>, rows: number): Float32Array {
    const { mean } = this.forward(this.normalizeBatch(obs, rows), rows);
    for (let i = 0; i < mean.length; i++) { const j = i % this.actDim; mean[i] = Math.min(this.actionHigh[j]!, Math.max(this.actionLow[j]!, mean[i]!)); }
    return mean;
  }

  actSync(obs: Observation): Float32Array {
    const { mean } = this.forward(this.normalizeBatch(obs, 1), 1);
    for (let j = 0; j < this.actDim; j++) mean[j] = Math.min(this.actionHigh[j]!, Math.max(this.actionLow[j]!, mean[j]!));
    return mean;
  }

  loss(batch: Batch): { loss: tf.Scalar; metrics: Record<string, tf.Scalar> } {
    const B = batch[PPO_BATCH.obs]!.shape[0]!;
    const x = tf.tensor2d(batch[PPO_BATCH.obs]!.data, [B, this.obsDim]);
    const a = tf.tensor2d(batch[PPO_BATCH.act]!.data, [B, this.actDim]);
    const oldLogp = tf.tensor1d(batch[PPO_BATCH.logp]!.data);
    const advRaw = tf.tensor1d(batch[PPO_BATCH.adv]!.data);
    const ret = tf.tensor1d(batch[PPO_BATCH.ret]!.data);
    const { mean: am, variance } = tf.moments(advRaw);
    const adv = tf.div(tf.sub(advRaw, am), tf.add(tf.sqrt(variance), 1e-8)) as tf.Tensor1D;
    const logStd = this.params.get('pi/logStd') as tf.Tensor1D;
    const mean = this.actor.apply(x);
    const logp = gaussianLogProb(a, mean, logStd);
    const { loss: pg, clipFrac, approxKl } = clippedSurrogate(logp, oldLogp, adv, this.cfg.clip);
    const v = tf.reshape(this.critic.apply(x), [B]);
    const vf = tf.mean(tf.square(tf.sub(v, ret))) as tf.Scalar;
    const ent = tf.sum(tf.add(logStd, 0.5 * Math.log(2 * Math.PI * Math.E))) as tf.Scalar;
    const loss = tf.add(tf.add(pg, tf.mul(vf, this.cfg.vfCoef)), tf.mul(ent, -this.cfg.entCoef)) as tf.Scalar;
    return { loss, metrics: { 'losses/policy': pg, 'losses/value': vf, 'losses/entropy': ent, 'losses/clip_frac': clipFrac, 'losses/approx_kl': approxKl } };
  }

  dispose(): void {
    this.params.dispose();
    this.obsNorm.dispose();
  }
}
