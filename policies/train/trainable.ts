/**
 * What a trainer (in-process or data-parallel) needs from a method: parameters and a loss over a batch of plain
 * arrays. The batch is built by the caller (dataset sampler, rollout buffer); per-step randomness (diffusion noise,
 * masks) comes from an Rng seeded by the trainer, so a run is reproducible and resumable bit-for-bit.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../sim/math/rng.ts';
import type { Params } from '../common/params.ts';

/** A batch column: row-major data with its shape (leading dimension = batch). */
export interface Column { data: Float32Array; shape: number[] }
export type Batch = Record<string, Column>;

export interface Trainable {
  params: Params;
  /** Scalar loss (inside the caller's tidy); `metrics` are extra scalars to log (e.g. 'losses/mse'). */
  loss(batch: Batch, rng: Rng): { loss: tf.Scalar; metrics?: Record<string, tf.Scalar> };
}

/** A module the data-parallel worker can import: `createTrainable(config, seed)` builds the same network anywhere. */
export interface TrainableFactoryModule {
  createTrainable(config: unknown, seed: number): Promise<Trainable> | Trainable;
}

/** Split rows [k·n/W, (k+1)·n/W) of every column. */
export function shardBatch(batch: Batch, k: number, w: number): Batch {
  const out: Batch = {};
  for (const [key, c] of Object.entries(batch)) {
    const n = c.shape[0]!, row = c.data.length / n;
    const lo = Math.floor((k * n) / w), hi = Math.floor(((k + 1) * n) / w);
    out[key] = { data: c.data.slice(lo * row, hi * row), shape: [hi - lo, ...c.shape.slice(1)] };
  }
  return out;
}
