/**
 * What the training machinery needs from a method (`MethodPolicy`, `PolicySpec`, `SafetyEnvelope`). The policy
 * contract itself (`Policy`, `ActOptions`) lives in sim/core/policy.ts and is re-exported here.
 */
import type { Features, Observation } from '../../sim/core/features.ts';
import type { ActOptions, Policy } from '../../sim/core/policy.ts';
import type { Rng } from '../../sim/math/rng.ts';
import type { Horizons } from './chunking.ts';
import type { Normalizer } from './normalizer.ts';
import type { Ema, Params } from './params.ts';
import type { Batch, Trainable } from '../train/trainable.ts';

export type { ActOptions, Policy } from '../../sim/core/policy.ts';

/** What the robot bridge enforces; shipped in every checkpoint manifest. Per action element. */
export interface SafetyEnvelope {
  actionLow: number[];
  actionHigh: number[];
  /** Largest allowed change of each action element between consecutive control steps. */
  maxDeltaPerStep: number[];
}

/** Serialisable description that rebuilds a method's network anywhere (checkpoint, data-parallel worker). */
export interface PolicySpec {
  method: string;
  /** Method config (network sizes, horizons, schedule…), JSON. */
  config: Record<string, unknown>;
  features: { observation: Features; action: Features };
  normalizers: Record<string, import('./normalizer.ts').NormalizerJson>;
}

/** A trainable method instance: a Policy + Trainable with its spec, normalisers and optional EMA. */
export interface MethodPolicy extends Policy, Trainable {
  readonly method: string;
  readonly spec: PolicySpec;
  readonly params: Params;
  /** The method's networks (every weight in `params` belongs to one, except small constants such as PPO's logStd); checkpoints export them as a TF.js LayersModel. */
  readonly networks: readonly import('./nn.ts').Mlp[];
  readonly horizons: Horizons;
  readonly normalizers: Record<string, Normalizer>;
  /** EMA of the weights (evaluation uses it when present). */
  ema: Ema | null;
  /** Use the EMA weights (true) or the live weights (false) in act(). */
  useEma: boolean;
  /**
   * Parameters a `--init` parent may lack: they keep this policy's own (seeded / zero) init instead (e.g. FDP's
   * residual in phase 2, whose parent is the base run). Every other parameter must come from the parent. Absent = none.
   */
  readonly ownInitParams?: readonly string[];
  /** Synchronous act() for synchronous action sources (all built-in methods compute synchronously). */
  actSync(obs: Observation, opts?: ActOptions): Float32Array;
  /** Vectorised acting over `rows` envs (batch observation rows × size per key); resetBatch starts new episodes. */
  resetBatch?(rows: number): void;
  actBatch?(obs: Readonly<Record<string, import('../../sim/core/features.ts').FeatureArray>>, rows: number, active?: Uint8Array, opts?: ActOptions): Float32Array;
  /** Seed the policy's own sampling noise (diffusion) for reproducible actions. */
  seedNoise(seed: number): void;
  /** Training batch of `batchSize` from an offline dataset sampler (offline methods only). */
  loss(batch: Batch, rng: Rng): ReturnType<Trainable['loss']>;
}
