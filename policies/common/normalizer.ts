/**
 * Per-dimension normalisation owned by a policy and saved with it. 'minmax' maps [min, max] → [-1, 1] (Diffusion
 * Policy convention; required for EDM with σ_data = 0.5); 'meanstd' maps to zero mean, unit std. Degenerate
 * dimensions (range or std < eps) map to 0 and back to their constant value.
 */
import * as tf from '@tensorflow/tfjs';

export type NormMode = 'minmax' | 'meanstd' | 'identity';

export interface NormStats { min: number[]; max: number[]; mean: number[]; std: number[] }

export interface NormalizerJson { mode: NormMode; scale: number[]; offset: number[] }

/** y = (x − offset) · scale; x = y / scale + offset (scale 0 ⇒ constant dimension). */
export class Normalizer {
  readonly scale: Float32Array;
  readonly offset: Float32Array;
  private tScale: tf.Tensor1D | null = null;
  private tOffset: tf.Tensor1D | null = null;
  private tInv: tf.Tensor1D | null = null;

  constructor(readonly mode: NormMode, scale: ArrayLike<number>, offset: ArrayLike<number>) {
    this.scale = Float32Array.from(scale);
    this.offset = Float32Array.from(offset);
    if (this.scale.length !== this.offset.length) throw new Error('Normalizer: scale and offset lengths differ');
  }

  get dim(): number { return this.scale.length; }

  static fromStats(mode: NormMode, s: NormStats, eps = 1e-6): Normalizer {
    const n = s.min.length;
    const scale = new Float32Array(n), offset = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      if (mode === 'minmax') {
        const r = s.max[i]! - s.min[i]!;
        offset[i] = (s.max[i]! + s.min[i]!) / 2;
        scale[i] = r > eps ? 2 / r : 0;
      } else if (mode === 'meanstd') {
        offset[i] = s.mean[i]!;
        scale[i] = s.std[i]! > eps ? 1 / s.std[i]! : 0;
      } else { offset[i] = 0; scale[i] = 1; }
    }
    return new Normalizer(mode, scale, offset);
  }

  static identity(n: number): Normalizer {
    return new Normalizer('identity', new Float32Array(n).fill(1), new Float32Array(n));
  }

  /** Normalise a flat array whose length is a multiple of dim (rows of dim). */
  normalize(x: ArrayLike<number>, out = new Float32Array(x.length)): Float32Array {
    const d = this.dim;
    if (x.length % d !== 0) throw new Error(`Normalizer.normalize: length ${x.length} is not a multiple of ${d}`);
    for (let i = 0; i < x.length; i++) { const j = i % d; out[i] = (x[i]! - this.offset[j]!) * this.scale[j]!; }
    return out;
  }

  denormalize(y: ArrayLike<number>, out = new Float32Array(y.length)): Float32Array {
    const d = this.dim;
    if (y.length % d !== 0) throw new Error(`Normalizer.denormalize: length ${y.length} is not a multiple of ${d}`);
    for (let i = 0; i < y.length; i++) {
      const j = i % d, s = this.scale[j]!;
      out[i] = s === 0 ? this.offset[j]! : y[i]! / s + this.offset[j]!;
    }
    return out;
  }

  private tensors(): void {
    if (this.tScale) return;
    this.tScale = tf.keep(tf.tensor1d(this.scale));
    this.tOffset = tf.keep(tf.tensor1d(this.offset));
    this.tInv = tf.keep(tf.tensor1d(this.scale.map((s) => (s === 0 ? 0 : 1 / s))));
  }

  /** Tensor version over [..., dim] (last axis). */
  normalizeT(x: tf.Tensor): tf.Tensor {
    this.tensors();
    return tf.mul(tf.sub(x, this.tOffset!), this.tScale!);
  }

  denormalizeT(y: tf.Tensor): tf.Tensor {
    this.tensors();
    return tf.add(tf.mul(y, this.tInv!), this.tOffset!);
  }

  toJSON(): NormalizerJson {
    return { mode: this.mode, scale: Array.from(this.scale), offset: Array.from(this.offset) };
  }

  static fromJSON(j: NormalizerJson, where = 'normalizer'): Normalizer {
    if (!j || !Array.isArray(j.scale) || !Array.isArray(j.offset) || j.scale.length !== j.offset.length) throw new Error(`${where}: malformed normaliser`);
    if (![...j.scale, ...j.offset].every((v) => Number.isFinite(v))) throw new Error(`${where}: non-finite normaliser values`);
    return new Normalizer(j.mode, j.scale, j.offset);
  }

  dispose(): void {
    for (const t of [this.tScale, this.tOffset, this.tInv]) t?.dispose();
    this.tScale = this.tOffset = this.tInv = null;
  }
}
