/**
 * Behaviour cloning: an MLP regresses the normalised action chunk from the normalised observation window (MSE).
 */
import * as tf from '@tensorflow/tfjs';
import { ChunkedPolicy, type ChunkedConfig } from '../common/chunked.ts';
import type { Activation } from '../common/dense.ts';
import { Mlp, defaultMlp } from '../common/nn.ts';
import type { PolicySpec } from '../common/policy.ts';

export interface BcConfig extends ChunkedConfig {
  /** Hidden widths of the MLP. */
  hidden: number[];
  /** Hidden activation. */
  act: Activation;
}

export function defaultBcConfig(): BcConfig {
  return { obsKeys: [], obsHorizon: 1, predHorizon: 1, actionHorizon: 1, obsNorm: 'meanstd', actionNorm: 'minmax', emaDecay: 0, hidden: [256, 256], act: 'relu' };
}

export class BcPolicy extends ChunkedPolicy<BcConfig> {
  readonly method = 'bc';
  readonly net: Mlp;
  /** The network exported as model.json (layers_model.ts): x = normalised observation window → normalised action chunk. */
  get networks(): readonly Mlp[] { return [this.net]; }

  constructor(spec: PolicySpec, seed: number) {
    super(spec, seed);
    this.net = new Mlp(this.params, 'bc', defaultMlp(this.obsDim, this.chunkDim, { hidden: this.cfg.hidden, act: this.cfg.act }));
    this.finishInit();
  }

  protected lossNormalized(obsN: tf.Tensor2D, actN: tf.Tensor2D): { loss: tf.Scalar; metrics: Record<string, tf.Scalar> } {
    const mse = tf.mean(tf.square(tf.sub(this.net.apply(obsN), actN))) as tf.Scalar;
    return { loss: mse, metrics: { 'losses/mse': tf.clone(mse) } };
  }

  protected predict(obsN: Float32Array, rows: number): Float32Array {
    const w = this.weights();
    return tf.tidy(() => this.net.apply(tf.tensor2d(obsN, [rows, this.obsDim]), undefined, w).dataSync() as Float32Array).slice();
  }

}
