/**
 * RL pieces shared by PPO (InterPrior) and GRPO (DIAL): the clipped-ratio surrogate, GAE, Gaussian log-probs and a
 * running mean/std for observation normalisation.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * PPO/GRPO clipped surrogate (to minimise): −mean(min(ρ·A, clip(ρ, 1−ε, 1+ε)·A)), ρ = exp(logp − oldLogp).
 * Also returns the clip fraction and approximate KL (mean of oldLogp − logp) for logging.
 */
export function clippedSurrogate(logp: tf.Tensor1D, oldLogp: tf.Tensor1D, adv: tf.Tensor1D, clip: number): { loss: tf.Scalar; clipFrac: tf.Scalar; approxKl: tf.Scalar } {
  const ratio = tf.exp(tf.sub(logp, oldLogp));
  const s1 = tf.mul(ratio, adv), s2 = tf.mul(tf.clipByValue(ratio, 1 - clip, 1 + clip), adv);
  const loss = tf.neg(tf.mean(tf.minimum(s1, s2))) as tf.Scalar;
  const clipFrac = tf.mean(tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), clip), 'float32')) as tf.Scalar;
  const approxKl = tf.mean(tf.sub(oldLogp, logp)) as tf.Scalar;
  return { loss, clipFrac, approxKl };
}

/** log N(a | μ, exp(logStd)²) summed over the last axis: [B, A] → [B]. */
export function gaussianLogProb(a: tf.Tensor2D, mean: tf.Tensor2D, logStd: tf.Tensor1D): tf.Tensor1D {
  const z = tf.div(tf.sub(a, mean), tf.exp(logStd));
  const per = tf.sub(tf.mul(-0.5, tf.square(z)), tf.add(logStd, 0.5 * Math.log(2 * Math.PI)));
  return tf.sum(per, 1) as tf.Tensor1D;
}

export function gaussianLogProbJs(a: ArrayLike<number>, mean: ArrayLike<number>, logStd: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const ls = logStd[i]!, z = (a[i]! - mean[i]!) / Math.exp(ls);
    s += -0.5 * z * z - ls - 0.5 * Math.log(2 * Math.PI);
  }
  return s;
}

/**
 * Generalised advantage estimation over a [T, N] rollout (time-major). `dones[t·N+i]` = 1 when the transition at t
 * ended the episode with no bootstrap (terminated); truncation is handled by the caller (adding γ·V(final obs) to the
 * reward) and also counts as done here. Returns advantages and returns (adv + value).
 */
export function gae(rewards: Float32Array, values: Float32Array, dones: Uint8Array, lastValues: Float32Array, T: number, N: number, gamma: number, lambda: number): { adv: Float32Array; ret: Float32Array } {
  const adv = new Float32Array(T * N), ret = new Float32Array(T * N);
  for (let i = 0; i < N; i++) {
    let next = 0;
    for (let t = T - 1; t >= 0; t--) {
      const k = t * N + i;
      const nv = t === T - 1 ? lastValues[i]! : values[k + N]!;
      const nonTerm = dones[k] ? 0 : 1;
      const delta = rewards[k]! + gamma * nv * nonTerm - values[k]!;
      next = delta + gamma * lambda * nonTerm * next;
      adv[k] = next;
      ret[k] = next + values[k]!;
    }
  }
  return { adv, ret };
}

/** Running mean/variance (Welford/Chan), float64, serialisable. */
export class RunningMeanStd {
  mean: Float64Array;
  var: Float64Array;
  count: number;
  constructor(readonly dim: number) {
    this.mean = new Float64Array(dim);
    this.var = new Float64Array(dim).fill(1);
    this.count = 1e-4;
  }

  update(x: ArrayLike<number>, rows: number): void {
    const d = this.dim;
    const bm = new Float64Array(d), bv = new Float64Array(d);
    for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) bm[j]! += x[r * d + j]! / rows;
    for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) { const e = x[r * d + j]! - bm[j]!; bv[j]! += (e * e) / rows; }
    const tot = this.count + rows;
    for (let j = 0; j < d; j++) {
      const delta = bm[j]! - this.mean[j]!;
      const m2 = this.var[j]! * this.count + bv[j]! * rows + (delta * delta * this.count * rows) / tot;
      this.mean[j] = this.mean[j]! + (delta * rows) / tot;
      this.var[j] = m2 / tot;
    }
    this.count = tot;
  }

  toJSON(): { mean: number[]; var: number[]; count: number } {
    return { mean: Array.from(this.mean), var: Array.from(this.var), count: this.count };
  }

  static fromJSON(j: { mean: number[]; var: number[]; count: number }): RunningMeanStd {
    const r = new RunningMeanStd(j.mean.length);
    r.mean = Float64Array.from(j.mean); r.var = Float64Array.from(j.var); r.count = j.count;
    return r;
  }
}
