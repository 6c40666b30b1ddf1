/**
 * The benchmark network of `stride bench train`: the Diffusion-Policy-sized MLP (193→512→512→512→128, ReLU) with an
 * MSE loss, as a Trainable that the data-parallel workers can build.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../sim/math/rng.ts';
import { Mlp, defaultMlp } from '../common/nn.ts';
import { Params } from '../common/params.ts';
import type { Trainable } from './trainable.ts';

export interface BenchMlpConfig { layerShapes: number[] }

export function createTrainable(config: unknown, seed: number): Trainable {
  const { layerShapes } = config as BenchMlpConfig;
  const params = new Params(new Rng(seed));
  const net = new Mlp(params, 'mlp', defaultMlp(layerShapes[0]!, layerShapes[layerShapes.length - 1]!, { hidden: layerShapes.slice(1, -1) }));
  return {
    params,
    loss(batch) {
      const x = tf.tensor2d(batch.x!.data, batch.x!.shape as [number, number]);
      const y = tf.tensor2d(batch.y!.data, batch.y!.shape as [number, number]);
      return { loss: tf.mean(tf.square(tf.sub(net.apply(x), y))) as tf.Scalar };
    },
  };
}
