/**
 * Named trainable parameters, deterministic initialisation from a seeded Rng, AdamW with explicit state and EMA.
 * Everything here is plain data + tf.Variables so checkpoints can hold the full training state (weights, optimiser
 * moments, step) and a resumed run is bit-identical.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../sim/math/rng.ts';

export type Init = 'he' | 'glorot' | 'zeros' | 'ones' | 'small';

export class Params {
  readonly names: string[] = [];
  readonly vars = new Map<string, tf.Variable>();

  constructor(readonly rng: Rng) {}

  /** Create a trainable variable; fan-in = shape[0] for matrices. */
  add(name: string, shape: number[], init: Init, trainable = true): tf.Variable {
    if (this.vars.has(name)) throw new Error(`Params.add: duplicate parameter '${name}'`);
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const fanIn = shape.length >= 2 ? shape[0]! : n;
    const fanOut = shape.length >= 2 ? shape[shape.length - 1]! : n;
    if (init === 'ones') data.fill(1);
    else if (init !== 'zeros') {
      const lim = init === 'he' ? Math.sqrt(6 / fanIn) : init === 'glorot' ? Math.sqrt(6 / (fanIn + fanOut)) : 1e-3;
      for (let i = 0; i < n; i++) data[i] = this.rng.uniform(-lim, lim);
    }
    const v = tf.variable(tf.tensor(data, shape), trainable, `${name}_${Params.uid++}`);
    this.names.push(name);
    this.vars.set(name, v);
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`Params.get: no parameter '${name}'`);
    return v;
  }

  list(): tf.Variable[] {
    return this.names.map((n) => this.vars.get(n)!);
  }

  count(): number {
    return this.list().reduce((a, v) => a + v.size, 0);
  }

  /** Snapshot as plain Float32Arrays (name → data). */
  toArrays(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const n of this.names) out[n] = this.vars.get(n)!.dataSync() as Float32Array;
    return out;
  }

  /** Assign from name → data; every parameter must be present with the right size. */
  assignArrays(src: Record<string, Float32Array>, where = 'weights'): void {
    for (const n of this.names) {
      const v = this.vars.get(n)!;
      const d = src[n];
      if (!d) throw new Error(`${where}: missing parameter '${n}'`);
      if (d.length !== v.size) throw new Error(`${where}: parameter '${n}' has ${d.length} values, expected ${v.size}`);
      v.assign(tf.tensor(d, v.shape));
    }
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    this.names.length = 0;
  }

  static uid = 0;
}

export interface AdamConfig {
  /** Learning rate. */
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay (AdamW); 0 = Adam. */
  weightDecay: number;
  /** Clip the global gradient norm to this value (0 = off). */
  clipGradNorm: number;
}

export const defaultAdam = (): AdamConfig => ({ lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, clipGradNorm: 0 });

/** AdamW with explicit, serialisable state (moments + step). */
export class Adam {
  step = 0;
  private m = new Map<string, tf.Variable>();
  private v = new Map<string, tf.Variable>();

  constructor(readonly params: Params, public cfg: AdamConfig) {
    for (const n of params.names) {
      const p = params.get(n);
      this.m.set(n, tf.variable(tf.zerosLike(p), false));
      this.v.set(n, tf.variable(tf.zerosLike(p), false));
    }
  }

  /** Apply gradients (name → tensor). Returns the pre-clip global gradient norm (0 when clipping is off). Does not dispose `grads`. */
  apply(grads: Record<string, tf.Tensor>, lrScale = 1): number {
    this.step++;
    const { beta1, beta2, eps, weightDecay, clipGradNorm } = this.cfg;
    const lr = this.cfg.lr * lrScale;
    const bc1 = 1 - beta1 ** this.step, bc2 = 1 - beta2 ** this.step;
    let norm = 0;
    tf.tidy(() => {
      const names = this.params.names.filter((n) => grads[n]);
      let scale = 1;
      // The global norm costs a reduction + sync per step: only computed when clipping is on.
      if (clipGradNorm > 0) {
        const sq = names.map((n) => tf.sum(tf.square(grads[n]!)));
        norm = tf.sqrt(tf.addN(sq.length ? sq : [tf.scalar(0)])).dataSync()[0]!;
        if (norm > clipGradNorm) scale = clipGradNorm / norm;
      }
      const stepSize = lr / bc1, sqrtBc2 = Math.sqrt(bc2);
      for (const n of names) {
        const p = this.params.get(n), m = this.m.get(n)!, v = this.v.get(n)!;
        const g = scale === 1 ? grads[n]! : tf.mul(grads[n]!, scale);
        const m2 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
        const v2 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
        m.assign(m2);
        v.assign(v2);
        // p ← p − (lr/bc1)·m̂ / (√v/√bc2 + eps) − lr·wd·p
        let upd = tf.div(tf.mul(m2, stepSize), tf.add(tf.div(tf.sqrt(v2), sqrtBc2), eps));
        if (weightDecay > 0) upd = tf.add(upd, tf.mul(p, lr * weightDecay));
        p.assign(tf.sub(p, upd));
      }
    });
    return norm;
  }

  state(): { step: number; m: Record<string, Float32Array>; v: Record<string, Float32Array> } {
    const m: Record<string, Float32Array> = {}, v: Record<string, Float32Array> = {};
    for (const n of this.params.names) {
      m[n] = this.m.get(n)!.dataSync() as Float32Array;
      v[n] = this.v.get(n)!.dataSync() as Float32Array;
    }
    return { step: this.step, m, v };
  }

  setState(s: { step: number; m: Record<string, Float32Array>; v: Record<string, Float32Array> }, where = 'optimizer'): void {
    this.step = s.step;
    for (const n of this.params.names) {
      const a = s.m[n], b = s.v[n];
      if (!a || !b) throw new Error(`${where}: missing optimiser state for '${n}'`);
      this.m.get(n)!.assign(tf.tensor(a, this.m.get(n)!.shape));
      this.v.get(n)!.assign(tf.tensor(b, this.v.get(n)!.shape));
    }
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
  }
}

/** Exponential moving average of parameters (decay 0.999 per step by default), used for evaluation. */
export class Ema {
  readonly shadow = new Map<string, tf.Variable>();
  constructor(readonly params: Params, public decay = 0.999) {
    for (const n of params.names) this.shadow.set(n, tf.variable(params.get(n).clone(), false));
  }

  /**
   * shadow ← d·shadow + (1−d)·param; warm-up d = min(decay, (1+t)/(10+t)) as in Diffusion Policy. A frozen parameter
   * (its variable's `trainable` cleared, e.g. FDP's base in phase 2) keeps its shadow bit for bit: d·s + (1−d)·s is
   * not s in float32.
   */
  update(step: number): void {
    const d = Math.min(this.decay, (1 + step) / (10 + step));
    tf.tidy(() => {
      for (const n of this.params.names) {
        if (!this.params.get(n).trainable) continue;
        const s = this.shadow.get(n)!;
        s.assign(tf.add(tf.mul(s, d), tf.mul(this.params.get(n), 1 - d)));
      }
    });
  }

  toArrays(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const [n, v] of this.shadow) out[n] = v.dataSync() as Float32Array;
    return out;
  }

  assignArrays(src: Record<string, Float32Array>, where = 'ema'): void {
    for (const [n, v] of this.shadow) {
      const d = src[n];
      if (!d || d.length !== v.size) throw new Error(`${where}: bad or missing EMA weights for '${n}'`);
      v.assign(tf.tensor(d, v.shape));
    }
  }

  dispose(): void {
    for (const v of this.shadow.values()) v.dispose();
  }
}
