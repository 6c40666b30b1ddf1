/**
 * One optimisation step in-process: grads of the Trainable's loss over its parameters, Adam update, all in tf.tidy.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../sim/math/rng.ts';
import type { Adam } from '../common/params.ts';
import type { Batch, Trainable } from './trainable.ts';

export interface StepOut { loss: number; metrics: Record<string, number>; gradNorm: number }

/**
 * Loss, gradients keyed by parameter name, and kept metric scalars (call inside `tf.tidy`; the caller disposes the
 * metrics). The one place that runs `variableGrads` over a Trainable.
 */
function lossAndGrads(t: Trainable, batch: Batch, rng: Rng): { value: tf.Scalar; grads: Record<string, tf.Tensor>; metricsT: Record<string, tf.Scalar> } {
  const vars = t.params.list().filter((v) => v.trainable);
  const byVarName = new Map(t.params.names.map((n) => [t.params.get(n).name, n]));
  let metricsT: Record<string, tf.Scalar> = {};
  const { value, grads } = tf.variableGrads(() => {
    const r = t.loss(batch, rng);
    metricsT = r.metrics ?? {};
    for (const m of Object.values(metricsT)) tf.keep(m);
    return r.loss;
  }, vars);
  const named: Record<string, tf.Tensor> = {};
  for (const [vn, g] of Object.entries(grads)) named[byVarName.get(vn)!] = g;
  return { value, grads: named, metricsT };
}

/** Gradients as plain arrays (name → Float32Array) plus the loss; used by data-parallel workers. */
export function computeGrads(t: Trainable, batch: Batch, rng: Rng): { grads: Record<string, Float32Array>; loss: number; metrics: Record<string, number> } {
  // Note: never return typed arrays from tf.tidy — it walks the result looking for tensors (1 s for 690k floats).
  const out: Record<string, Float32Array> = {};
  const metrics: Record<string, number> = {};
  let loss = 0;
  tf.tidy(() => {
    const { value, grads, metricsT } = lossAndGrads(t, batch, rng);
    for (const n of t.params.names) {
      const g = grads[n];
      if (g) out[n] = g.dataSync() as Float32Array;
    }
    for (const [k, m] of Object.entries(metricsT)) { metrics[k] = m.dataSync()[0]!; m.dispose(); }
    loss = value.dataSync()[0]!;
  });
  return { grads: out, loss, metrics };
}

/** Apply name → Float32Array gradients with Adam. */
export function applyGrads(opt: Adam, grads: Record<string, Float32Array>): number {
  const ts: Record<string, tf.Tensor> = {};
  for (const [n, g] of Object.entries(grads)) ts[n] = tf.tensor(g, opt.params.get(n).shape);
  try {
    return opt.apply(ts);
  } finally {
    for (const t of Object.values(ts)) t.dispose();
  }
}

/** Fast in-process step: gradients stay tensors. */
export function trainStep(t: Trainable, opt: Adam, batch: Batch, rng: Rng): StepOut {
  let loss = 0, gradNorm = 0;
  const metrics: Record<string, number> = {};
  tf.tidy(() => {
    const { value, grads, metricsT } = lossAndGrads(t, batch, rng);
    gradNorm = opt.apply(grads);
    loss = value.dataSync()[0]!;
    for (const [k, m] of Object.entries(metricsT)) { metrics[k] = m.dataSync()[0]!; m.dispose(); }
  });
  return { loss, metrics, gradNorm };
}
