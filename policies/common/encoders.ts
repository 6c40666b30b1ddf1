/**
 * Per-key observation encoders for the chunked policies. The input is a normalised window of To frames, each frame
 * the concatenation of the policy's `obsKeys` (ChunkedPolicy's layout); an encoder reads a subset of those keys and
 * returns one feature row per sample:
 *
 * - low-dimensional keys pass through unchanged (flat), frame by frame;
 * - depth images (feature kind 'depth', H×W) with `depth: 'pool'`: 2×2 average pooling (32×32 → 16×16), then
 *   Dense (H/2·W/2 → `depthFeatures`) + ReLU, the same weights for every frame. Without it (`depth: 'flat'`) a 32×32
 *   window puts 2 048 floats straight into the MLP input and every FiLM layer.
 *
 * Layout of the output: frame 0's keys in the given order, then frame 1's, … (a depth key contributes its
 * `depthFeatures` there).
 */
import * as tf from '@tensorflow/tfjs';
import { featureSize, type Features } from '../../sim/core/features.ts';
import { dense } from './dense.ts';
import { denseJs } from './js_mlp.ts';
import type { WeightGetter } from './nn.ts';
import type { Params } from './params.ts';

/** How an encoder treats depth images. */
export type DepthEncoding = 'flat' | 'pool';

export interface EncoderConfig {
  /** Keys this encoder reads (a subset of the window's keys), in output order. */
  keys: string[];
  /** Depth images: 'flat' (pass through) or 'pool' (2×2 average pool → Dense + ReLU). */
  depth: DepthEncoding;
  /** Output width of the depth Dense per frame (with depth = 'pool'). */
  depthFeatures: number;
}

interface Slot { key: string; offset: number; size: number; pooled: { h: number; w: number } | null }

export class ObsEncoder {
  /** Output width per sample. */
  readonly outDim: number;
  private slots: Slot[] = [];
  /** Floats per window frame. */
  private readonly frameDim: number;

  /**
   * `windowKeys` = the window's frame layout (ChunkedPolicy.obsKeys), `features` their specs, `frames` = To. Depth
   * parameters are `${prefix}/depth/W|b` (He init), one set shared by every depth key and frame.
   */
  constructor(readonly params: Params, readonly prefix: string, windowKeys: readonly string[], features: Features, readonly frames: number, readonly cfg: EncoderConfig) {
    let off = 0;
    const at = new Map<string, { offset: number; size: number }>();
    for (const k of windowKeys) { const n = featureSize(features[k]!); at.set(k, { offset: off, size: n }); off += n; }
    this.frameDim = off;
    let per = 0, pooledIn = 0;
    for (const k of cfg.keys) {
      const a = at.get(k);
      if (!a) throw new Error(`${prefix}: encoder key '${k}' is not among the policy's observation keys (${windowKeys.join(', ')})`);
      const spec = features[k]!;
      const isDepth = spec.kind === 'depth' && cfg.depth === 'pool';
      let pooled: Slot['pooled'] = null;
      if (isDepth) {
        const [h, w] = spec.shape as [number, number];
        if (spec.shape.length !== 2 || h % 2 || w % 2) throw new Error(`${prefix}: depth key '${k}' must be an H×W image with even sides (got [${spec.shape.join(', ')}])`);
        if (pooledIn && pooledIn !== (h / 2) * (w / 2)) throw new Error(`${prefix}: depth keys of different sizes share one encoder`);
        pooledIn = (h / 2) * (w / 2);
        pooled = { h, w };
        per += cfg.depthFeatures;
      } else per += a.size;
      this.slots.push({ key: k, ...a, pooled });
    }
    if (pooledIn) { params.add(`${prefix}/depth/W`, [pooledIn, cfg.depthFeatures], 'he'); params.add(`${prefix}/depth/b`, [cfg.depthFeatures], 'zeros'); }
    this.outDim = per * frames;
  }

  /** Encode normalised windows [B, frames·frameDim] → [B, outDim]. */
  apply(obsN: tf.Tensor2D, w: WeightGetter = (n) => this.params.get(n)): tf.Tensor2D {
    const B = obsN.shape[0];
    const parts: tf.Tensor2D[] = [];
    for (let f = 0; f < this.frames; f++) {
      for (const s of this.slots) {
        const x = tf.slice(obsN, [0, f * this.frameDim + s.offset], [B, s.size]);
        if (!s.pooled) { parts.push(x); continue; }
        const img = tf.reshape(x, [B, s.pooled.h, s.pooled.w, 1]) as tf.Tensor4D;
        const p = tf.reshape(tf.avgPool(img, 2, 2, 'valid'), [B, (s.pooled.h / 2) * (s.pooled.w / 2)]) as tf.Tensor2D;
        parts.push(dense(p, w(`${this.prefix}/depth/W`) as tf.Tensor2D, w(`${this.prefix}/depth/b`) as tf.Tensor1D, 'relu', false));
      }
    }
    return parts.length === 1 ? parts[0]! : tf.concat(parts, 1);
  }

  /** `apply` in plain JS over a weight snapshot (name → data): rows of normalised windows → rows × outDim. */
  applyJs(obsN: Float32Array, rows: number, w: Record<string, Float32Array>): Float32Array {
    const out = new Float32Array(rows * this.outDim), win = this.frames * this.frameDim;
    for (let r = 0; r < rows; r++) {
      let o = r * this.outDim;
      for (let f = 0; f < this.frames; f++) {
        for (const s of this.slots) {
          const base = r * win + f * this.frameDim + s.offset;
          if (!s.pooled) { out.set(obsN.subarray(base, base + s.size), o); o += s.size; continue; }
          const { h, w: W } = s.pooled, ph = h / 2, pw = W / 2, p = new Float32Array(ph * pw);
          for (let i = 0; i < ph; i++) for (let j = 0; j < pw; j++) {
            const a = base + 2 * i * W + 2 * j;
            p[i * pw + j] = (obsN[a]! + obsN[a + 1]! + obsN[a + W]! + obsN[a + W + 1]!) / 4;
          }
          const y = denseJs(p, 1, { W: w[`${this.prefix}/depth/W`]!, b: w[`${this.prefix}/depth/b`]!, nIn: ph * pw, nOut: this.cfg.depthFeatures });
          for (let k = 0; k < y.length; k++) if (y[k]! < 0) y[k] = 0;
          out.set(y, o); o += y.length;
        }
      }
    }
    return out;
  }
}
