/**
 * Network blocks shared by every method: MLP and residual MLP with optional FiLM conditioning and zero-init output,
 * and sinusoidal time/noise embeddings. Weights live in a `Params` store; `apply` takes a weight getter so the same
 * forward runs on the live weights (training) or the EMA shadow (evaluation).
 */
import * as tf from '@tensorflow/tfjs';
import { dense, type Activation } from './dense.ts';
import type { Params } from './params.ts';

export type WeightGetter = (name: string) => tf.Tensor;

export interface MlpConfig {
  /** Input width. */
  inDim: number;
  /** Hidden widths (one dense layer each for a plain MLP; every block has this width for a residual MLP). */
  hidden: number[];
  /** Output width (0 = no output layer: a trunk whose block states are read with `applyTapped`). */
  outDim: number;
  /** Hidden activation. */
  act: Activation;
  /** Zero-initialise the output layer (the network starts by predicting 0). */
  zeroInitOut: boolean;
  /** Width of a FiLM conditioning vector (0 = no FiLM). Each hidden layer gets h ← h·(1+γ(c)) + β(c), zero-init. */
  condDim: number;
  /** Residual blocks (h ← h + W₂·act(W₁·h)) instead of a plain stack; needs equal hidden widths. */
  residual: boolean;
  /** Back-propagate into the input (needed when the input comes from a trained encoder); default false: inputs are data. */
  inputGrad?: boolean;
}

export const defaultMlp = (inDim: number, outDim: number, over: Partial<MlpConfig> = {}): MlpConfig => ({
  inDim, outDim, hidden: [256, 256, 256], act: 'relu', zeroInitOut: false, condDim: 0, residual: false, ...over,
});

/** MLP / residual MLP with FiLM. `inputGrad` of the first layer is off unless `cfg.inputGrad` (inputs are data). */
export class Mlp {
  constructor(readonly params: Params, readonly prefix: string, readonly cfg: MlpConfig) {
    const { inDim, hidden, outDim, condDim, residual } = cfg;
    if (hidden.length === 0) throw new Error(`${prefix}: an MLP needs at least one hidden layer`);
    if (residual && hidden.some((h) => h !== hidden[0])) throw new Error(`${prefix}: residual MLP needs equal hidden widths`);
    let prev = inDim;
    for (let i = 0; i < hidden.length; i++) {
      const h = hidden[i]!;
      if (residual && i > 0) {
        params.add(`${prefix}/b${i}/W1`, [h, h], 'he'); params.add(`${prefix}/b${i}/b1`, [h], 'zeros');
        params.add(`${prefix}/b${i}/W2`, [h, h], cfg.zeroInitOut ? 'zeros' : 'he'); params.add(`${prefix}/b${i}/b2`, [h], 'zeros');
      } else {
        params.add(`${prefix}/l${i}/W`, [prev, h], 'he'); params.add(`${prefix}/l${i}/b`, [h], 'zeros');
      }
      if (condDim > 0) {
        params.add(`${prefix}/film${i}/W`, [condDim, 2 * h], 'zeros'); params.add(`${prefix}/film${i}/b`, [2 * h], 'zeros');
      }
      prev = h;
    }
    if (outDim > 0) {
      params.add(`${prefix}/out/W`, [prev, outDim], cfg.zeroInitOut ? 'zeros' : 'glorot');
      params.add(`${prefix}/out/b`, [outDim], 'zeros');
    }
  }

  apply(x: tf.Tensor2D, cond?: tf.Tensor2D, w: WeightGetter = (n) => this.params.get(n)): tf.Tensor2D {
    if (this.cfg.outDim === 0) throw new Error(`${this.prefix}: an MLP without output layer has no apply(); use applyTapped`);
    return this.applyTapped(x, cond, w).out!;
  }

  /**
   * The forward pass with its block states exposed: `hidden[l]` is the output h_l of block l (layer l of a plain MLP,
   * the first layer or residual block l of a residual MLP; after FiLM for layer 0 / plain layers). `inject[l]`, when
   * given, is added to h_l before block l + 1 and the head see it (ControlNet-style residuals), and `hidden[l]` is the
   * state after the injection. `out` is the head's output (null without an output layer). With no injections this is
   * `apply` op for op.
   */
  applyTapped(x: tf.Tensor2D, cond?: tf.Tensor2D, w: WeightGetter = (n) => this.params.get(n), inject?: readonly (tf.Tensor2D | null | undefined)[]): { out: tf.Tensor2D | null; hidden: tf.Tensor2D[] } {
    const { hidden, act, condDim, residual } = this.cfg;
    const p = this.prefix;
    const g = (n: string) => w(`${p}/${n}`) as tf.Tensor2D;
    const states: tf.Tensor2D[] = [];
    let h = x;
    for (let i = 0; i < hidden.length; i++) {
      if (residual && i > 0) {
        const hh = hidden[i]!;
        let u = h;
        if (condDim > 0) u = film(u, cond!, g(`film${i}/W`), g(`film${i}/b`) as unknown as tf.Tensor1D, hh);
        const a = dense(u, g(`b${i}/W1`), g(`b${i}/b1`) as unknown as tf.Tensor1D, act);
        h = tf.add(h, dense(a, g(`b${i}/W2`), g(`b${i}/b2`) as unknown as tf.Tensor1D, 'linear'));
      } else {
        h = dense(h, g(`l${i}/W`), g(`l${i}/b`) as unknown as tf.Tensor1D, act, i > 0 || !!this.cfg.inputGrad);
        if (condDim > 0) h = film(h, cond!, g(`film${i}/W`), g(`film${i}/b`) as unknown as tf.Tensor1D, hidden[i]!);
      }
      const add = inject?.[i];
      if (add) h = tf.add(h, add);
      states.push(h);
    }
    return { out: this.cfg.outDim > 0 ? dense(h, g('out/W'), g('out/b') as unknown as tf.Tensor1D, 'linear') : null, hidden: states };
  }
}

/** FiLM: h·(1+γ) + β with [γ, β] = c·W + b. */
function film(h: tf.Tensor2D, c: tf.Tensor2D, W: tf.Tensor2D, b: tf.Tensor1D, width: number): tf.Tensor2D {
  const gb = dense(c, W, b, 'linear');
  const [gamma, beta] = tf.split(gb, [width, width], 1) as [tf.Tensor2D, tf.Tensor2D];
  return tf.add(tf.mul(h, tf.add(gamma, 1)), beta);
}

/**
 * Sinusoidal embedding of a scalar per row: [sin(t·f₀..f_{d/2−1}), cos(t·f₀..)], fₖ = exp(−ln(maxPeriod)·k/(d/2)).
 * `t` is [B, 1] (diffusion step, flow time, or c_noise = ln σ / 4).
 */
export function sinusoidalEmbedding(t: tf.Tensor2D, dim: number, maxPeriod = 10000): tf.Tensor2D {
  if (dim % 2 !== 0) throw new Error(`sinusoidalEmbedding: dim must be even, got ${dim}`);
  const half = dim / 2;
  const freqs = tf.tensor2d(sinusoidalFreqs(half, maxPeriod), [1, half]);
  const arg = tf.mul(t, freqs) as tf.Tensor2D;
  return tf.concat([tf.sin(arg), tf.cos(arg)], 1);
}

export function sinusoidalFreqs(half: number, maxPeriod = 10000): Float32Array {
  const f = new Float32Array(half);
  for (let k = 0; k < half; k++) f[k] = Math.exp((-Math.log(maxPeriod) * k) / half);
  return f;
}

/** Plain-JS embedding of one scalar (fixtures, batch-1 inference). */
export function sinusoidalEmbeddingJs(t: number, dim: number, maxPeriod = 10000): Float32Array {
  const half = dim / 2, f = sinusoidalFreqs(half, maxPeriod), out = new Float32Array(dim);
  for (let k = 0; k < half; k++) { out[k] = Math.sin(t * f[k]!); out[half + k] = Math.cos(t * f[k]!); }
  return out;
}
