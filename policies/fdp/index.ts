/**
 * FDP — Factorized Diffusion Policy (Patil et al., arXiv 2509.16830; POLICIES.md §1), CPU-sized on the project's
 * residual FiLM-MLP. Two models over the same noisy action chunk:
 *
 * - **base** π_θ(x_t, y^{prio}, t): an ordinary ε-prediction diffusion policy that sees only the prioritised keys
 *   (`priority`), trained first (`phase: 'base'`);
 * - **residual** π_φ(x_t, y^{all}, t): the same block structure (width `resWidth`) over every key (`priority` +
 *   `rest`), trained second (`phase: 'residual'`) with the base frozen — its variables' `trainable` flag is cleared
 *   here, in the constructor, so every data-parallel worker agrees; the EMA leaves frozen parameters untouched.
 *
 * Composition (`compose`):
 * - 'blockwise' (the paper's): after residual block l a zero-initialised Dense emits Δ_l, added to the base's block
 *   output h_l before base block l + 1 and the base head; ε is the base head's output over the modified features.
 * - 'output' (ablation): ε = ε_base + W·r_L with W zero-initialised.
 * Either way the composed policy equals the base bit for bit at the start of phase 2. `clipResidual` > 0 caps each
 * row's ‖Δ_l‖ (or the output residual's norm). `losses/res_ratio` = median over the batch of ‖ε − ε_base‖/‖ε_base‖.
 *
 * Phase 2 starts from the base run with `stride train --init RUN`: the base's EMA weights are copied into the live
 * and shadow base parameters; the residual parameters keep their own init (`ownInitParams`).
 * Depth images go through the per-frame depth encoder (`policies/common/encoders.ts`, `encoder: 'pool'`).
 * `useJsEngine()` samples with plain-JS matmuls over a weight snapshot (`JsMlp.applyTapped`, `ObsEncoder.applyJs`)
 * for fast batch-1 act(); the default engine is TF.js ops.
 *
 * Horizons and sampling are Diffusion Policy's (ChunkedPolicy: To = 2, Tp = 8, Ta = 4; DDPM-100 training with the
 * squared-cosine schedule, DDIM-`inferSteps` sampling with the clipped-x̂₀ ε re-derivation). See README.md here.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../sim/math/rng.ts';
import { ChunkedPolicy, type ChunkedConfig } from '../common/chunked.ts';
import type { Activation } from '../common/dense.ts';
import { dense } from '../common/dense.ts';
import { ObsEncoder, type DepthEncoding } from '../common/encoders.ts';
import { JsMlp, denseJs } from '../common/js_mlp.ts';
import { Mlp, defaultMlp, sinusoidalEmbedding, sinusoidalEmbeddingJs, type WeightGetter } from '../common/nn.ts';
import type { ActOptions, PolicySpec } from '../common/policy.ts';
import { ddimStep, ddimTimesteps, ddpmSchedule, randn, type BetaSchedule, type DdpmSchedule } from '../common/schedules.ts';

export interface FdpConfig extends ChunkedConfig {
  /** 'base' trains π_base on `priority`; 'residual' adds π_res on `priority` + `rest` with the base frozen. */
  phase: 'base' | 'residual';
  /** Prioritised observation keys (the base's input). */
  priority: string[];
  /** The remaining keys (the residual sees priority + rest). */
  rest: string[];
  /** 'blockwise' = Δ_l added to every base block output (the paper's); 'output' = ε_base + ε_res (ablation). */
  compose: 'blockwise' | 'output';
  /** Base block width and count (residual FiLM-MLP). */
  width: number;
  depth: number;
  /** Residual block width (it has `depth` blocks too). */
  resWidth: number;
  /** Diffusion steps of training (DDPM T). */
  trainSteps: number;
  /** DDIM steps at inference. */
  inferSteps: number;
  betaSchedule: BetaSchedule;
  /** Clip the predicted clean sample to ±clipSample while sampling (normalised actions live in [-1, 1]). */
  clipSample: number;
  /** Cap on each row's ‖Δ_l‖ (output mode: on the ε residual's norm); 0 = off. */
  clipResidual: number;
  /** Width of the sinusoidal timestep embedding. */
  embDim: number;
  act: Activation;
  /** Depth images: 'pool' (2×2 average pool → Dense + ReLU per frame) or 'flat'. */
  encoder: DepthEncoding;
  /** Depth features per frame with encoder 'pool'. */
  depthFeatures: number;
}

export function defaultFdpConfig(): FdpConfig {
  return {
    obsKeys: [], obsHorizon: 2, predHorizon: 8, actionHorizon: 4, obsNorm: 'minmax', actionNorm: 'minmax', emaDecay: 0.995,
    phase: 'base', priority: [], rest: [], compose: 'blockwise', width: 128, depth: 3, resWidth: 128,
    trainSteps: 100, inferSteps: 10, betaSchedule: 'squaredcos_cap_v2', clipSample: 1, clipResidual: 0, embDim: 32, act: 'relu',
    encoder: 'pool', depthFeatures: 64,
  };
}

/** FDP's window keys when `obsKeys` is empty: the base's priority keys (phase 1), priority + rest (phase 2). */
export function fdpObsKeys(c: Record<string, unknown>): Record<string, unknown> {
  const f = c as unknown as FdpConfig;
  if (f.obsKeys?.length) return c;
  return { ...c, obsKeys: f.phase === 'residual' ? [...(f.priority ?? []), ...(f.rest ?? [])] : [...(f.priority ?? [])] };
}

/** ε of one denoising call: the composed prediction and (phase 2) the base's own. */
interface EpsOut { eps: tf.Tensor2D; base: tf.Tensor2D | null }

/** Per-row norm cap: x · c / max(‖x‖, c) (exactly x when ‖x‖ ≤ c, so a zero residual stays zero). */
function capNorm(x: tf.Tensor2D, c: number): tf.Tensor2D {
  const n = tf.sqrt(tf.sum(tf.square(x), 1, true));
  return tf.mul(x, tf.div(c, tf.maximum(n, c))) as tf.Tensor2D;
}

/** Per-row ‖ε − ε_base‖ / ‖ε_base‖. */
function rowRatio(eps: tf.Tensor2D, base: tf.Tensor2D): tf.Tensor1D {
  const num = tf.sqrt(tf.sum(tf.square(tf.sub(eps, base)), 1));
  const den = tf.maximum(tf.sqrt(tf.sum(tf.square(base), 1)), 1e-12);
  return tf.div(num, den) as tf.Tensor1D;
}

export class FdpPolicy extends ChunkedPolicy<FdpConfig> {
  readonly method = 'fdp';
  readonly sched: DdpmSchedule;
  readonly baseEnc: ObsEncoder;
  readonly baseNet: Mlp;
  readonly resEnc: ObsEncoder | null = null;
  readonly resNet: Mlp | null = null;
  /** Names of the base's parameters (frozen in phase 2) and of the residual's. */
  readonly baseParamNames: string[];
  readonly resParamNames: string[];
  /**
   * Evaluation probe: when set, every sampling call adds each row's mean ‖ε − ε_base‖/‖ε_base‖ over its denoising
   * steps to `values[planRows[r]]` (one list per batch row, i.e. per evaluated episode). Phase 2 only.
   */
  resProbe: number[][] | null = null;
  private sqrtAb: Float32Array;
  private sqrt1mAb: Float32Array;
  /** The plain-JS engine (`useJsEngine`): a snapshot of the inference weights, or null = TensorFlow.js ops. */
  private js: { w: Record<string, Float32Array>; base: JsMlp; res: JsMlp | null } | null = null;

  constructor(spec: PolicySpec, seed: number) {
    super(spec, seed);
    const c = this.cfg;
    if (!c.priority.length) throw new Error('fdp: config.priority must name at least one observation key');
    const all = [...c.priority, ...c.rest];
    if (new Set(all).size !== all.length) throw new Error(`fdp: priority and rest must be disjoint (${all.join(', ')})`);
    if (c.phase !== 'base' && c.phase !== 'residual') throw new Error(`fdp: phase must be 'base' or 'residual', got '${String(c.phase)}'`);
    if (c.compose !== 'blockwise' && c.compose !== 'output') throw new Error(`fdp: compose must be 'blockwise' or 'output', got '${String(c.compose)}'`);
    this.sched = ddpmSchedule(c.trainSteps, c.betaSchedule);
    this.sqrtAb = Float32Array.from(this.sched.alphaBars, (a) => Math.sqrt(a));
    this.sqrt1mAb = Float32Array.from(this.sched.alphaBars, (a) => Math.sqrt(1 - a));
    const feats = spec.features.observation, To = c.obsHorizon;
    const encCfg = (keys: string[]) => ({ keys, depth: c.encoder, depthFeatures: c.depthFeatures });

    // --- base: priority keys only ---
    this.baseEnc = new ObsEncoder(this.params, 'fdp_base/enc', this.obsKeys, feats, To, encCfg(c.priority));
    const bo = this.baseEnc.outDim;
    this.baseNet = new Mlp(this.params, 'fdp_base', defaultMlp(this.chunkDim + bo + c.embDim, this.chunkDim, {
      hidden: Array(c.depth).fill(c.width), act: c.act, residual: true, condDim: c.embDim + bo, inputGrad: true,
    }));
    this.baseParamNames = [...this.params.names];

    // --- residual: every key, zero-initialised outputs; the base frozen ---
    if (c.phase === 'residual') {
      this.resEnc = new ObsEncoder(this.params, 'fdp_res/enc', this.obsKeys, feats, To, encCfg(all));
      const ro = this.resEnc.outDim;
      this.resNet = new Mlp(this.params, 'fdp_res', defaultMlp(this.chunkDim + ro + c.embDim, 0, {
        hidden: Array(c.depth).fill(c.resWidth), act: c.act, residual: true, condDim: c.embDim + ro, inputGrad: true,
      }));
      if (c.compose === 'blockwise') {
        for (let l = 0; l < c.depth; l++) { this.params.add(`fdp_res/delta${l}/W`, [c.resWidth, c.width], 'zeros'); this.params.add(`fdp_res/delta${l}/b`, [c.width], 'zeros'); }
      } else {
        this.params.add('fdp_res/eps/W', [c.resWidth, this.chunkDim], 'zeros'); this.params.add('fdp_res/eps/b', [this.chunkDim], 'zeros');
      }
      for (const n of this.baseParamNames) this.params.get(n).trainable = false;
    }
    this.resParamNames = this.params.names.filter((n) => !this.baseParamNames.includes(n));
    this.finishInit();
  }

  /**
   * The networks a TF.js LayersModel export carries: the base only. The residual trunk has no head of its own, and the
   * block-wise composition is not a plain layer stack; the stride checkpoint (model.json/weights.bin) holds everything.
   */
  get networks(): readonly Mlp[] { return [this.baseNet]; }

  /** Parameters a `--init` parent may lack: they start from their own (zero / seeded) init. Phase 2: the residual's. */
  get ownInitParams(): string[] { return this.resParamNames; }

  /** ε(x_t, t | obs): composed, and the base's own when `withBase` (phase 2). */
  epsT(x: tf.Tensor2D, t: tf.Tensor2D, obsN: tf.Tensor2D, w: WeightGetter = (n) => this.params.get(n), withBase = false): EpsOut {
    const c = this.cfg;
    const emb = sinusoidalEmbedding(t, c.embDim);
    const yb = this.baseEnc.apply(obsN, w);
    const bIn = tf.concat([x, yb, emb], 1), bCond = tf.concat([emb, yb], 1);
    if (!this.resNet || !this.resEnc) return { eps: this.baseNet.applyTapped(bIn, bCond, w).out!, base: null };
    const ya = this.resEnc.apply(obsN, w);
    const r = this.resNet.applyTapped(tf.concat([x, ya, emb], 1), tf.concat([emb, ya], 1), w).hidden;
    const cap = (d: tf.Tensor2D) => (c.clipResidual > 0 ? capNorm(d, c.clipResidual) : d);
    const base = withBase || c.compose === 'output' ? this.baseNet.applyTapped(bIn, bCond, w).out! : null;
    if (c.compose === 'output') {
      const d = cap(dense(r[r.length - 1]!, w('fdp_res/eps/W') as tf.Tensor2D, w('fdp_res/eps/b') as tf.Tensor1D, 'linear'));
      return { eps: tf.add(base!, d) as tf.Tensor2D, base };
    }
    const deltas = r.map((h, l) => cap(dense(h, w(`fdp_res/delta${l}/W`) as tf.Tensor2D, w(`fdp_res/delta${l}/b`) as tf.Tensor1D, 'linear')));
    return { eps: this.baseNet.applyTapped(bIn, bCond, w, deltas).out!, base };
  }

  /**
   * Sample with plain-JS matmuls over a snapshot of the current inference weights (fast batch-1 act(): TF.js's
   * per-op dispatch dominates at one row), or back with TF.js ops (`false`). Take the snapshot again after training.
   */
  useJsEngine(on = true): void {
    if (!on) { this.js = null; return; }
    const get = this.weights(), w: Record<string, Float32Array> = {};
    for (const n of this.params.names) w[n] = get(n).dataSync() as Float32Array;
    this.js = { w, base: new JsMlp(this.baseNet, w), res: this.resNet ? new JsMlp(this.resNet, w) : null };
  }

  /** `epsT` in plain JS on the engine's snapshot: rows of normalised x, one timestep, normalised windows. */
  private epsJs(x: Float32Array, rows: number, t: number, obsN: Float32Array): Float32Array {
    const c = this.cfg, js = this.js!, w = js.w;
    const emb = sinusoidalEmbeddingJs(t, c.embDim);
    const row = (y: Float32Array, yd: number) => {
      const inp = new Float32Array(rows * (this.chunkDim + yd + c.embDim)), cond = new Float32Array(rows * (c.embDim + yd));
      for (let r = 0; r < rows; r++) {
        const o = r * (this.chunkDim + yd + c.embDim);
        inp.set(x.subarray(r * this.chunkDim, (r + 1) * this.chunkDim), o); inp.set(y.subarray(r * yd, (r + 1) * yd), o + this.chunkDim); inp.set(emb, o + this.chunkDim + yd);
        cond.set(emb, r * (c.embDim + yd)); cond.set(y.subarray(r * yd, (r + 1) * yd), r * (c.embDim + yd) + c.embDim);
      }
      return { inp, cond };
    };
    const yb = this.baseEnc.applyJs(obsN, rows, w), b = row(yb, this.baseEnc.outDim);
    if (!js.res || !this.resEnc) return js.base.applyTapped(b.inp, rows, b.cond).out!;
    const ya = this.resEnc.applyJs(obsN, rows, w), ra = row(ya, this.resEnc.outDim);
    const r = js.res.applyTapped(ra.inp, rows, ra.cond).hidden;
    const cap = (d: Float32Array, width: number) => {
      if (!(c.clipResidual > 0)) return d;
      for (let k = 0; k < rows; k++) {
        let n2 = 0;
        for (let j = 0; j < width; j++) n2 += d[k * width + j]! ** 2;
        const f = c.clipResidual / Math.max(Math.sqrt(n2), c.clipResidual);
        for (let j = 0; j < width; j++) d[k * width + j]! *= f;
      }
      return d;
    };
    const layer = (name: string, nIn: number, nOut: number) => ({ W: w[`${name}/W`]!, b: w[`${name}/b`]!, nIn, nOut });
    if (c.compose === 'output') {
      const e = js.base.applyTapped(b.inp, rows, b.cond).out!;
      const d = cap(denseJs(r[r.length - 1]!, rows, layer('fdp_res/eps', c.resWidth, this.chunkDim)), this.chunkDim);
      for (let i = 0; i < e.length; i++) e[i]! += d[i]!;
      return e;
    }
    const deltas = r.map((h, l) => cap(denseJs(h, rows, layer(`fdp_res/delta${l}`, c.resWidth, c.width)), c.width));
    return js.base.applyTapped(b.inp, rows, b.cond, deltas).out!;
  }

  protected lossNormalized(obsN: tf.Tensor2D, actN: tf.Tensor2D, rng: Rng): { loss: tf.Scalar; metrics: Record<string, tf.Scalar> } {
    const B = actN.shape[0], D = this.chunkDim;
    const ts = new Float32Array(B), a = new Float32Array(B), s = new Float32Array(B);
    for (let i = 0; i < B; i++) { const t = rng.int(this.cfg.trainSteps); ts[i] = t; a[i] = this.sqrtAb[t]!; s[i] = this.sqrt1mAb[t]!; }
    const eps = tf.tensor2d(randn(rng, B * D), [B, D]);
    const xt = tf.add(tf.mul(actN, tf.tensor2d(a, [B, 1])), tf.mul(eps, tf.tensor2d(s, [B, 1]))) as tf.Tensor2D;
    const pred = this.epsT(xt, tf.tensor2d(ts, [B, 1]), obsN, undefined, this.cfg.phase === 'residual');
    const mse = tf.mean(tf.square(tf.sub(pred.eps, eps))) as tf.Scalar;
    const metrics: Record<string, tf.Scalar> = { 'losses/eps_mse': tf.clone(mse) };
    if (pred.base) {
      // median over the batch: the ⌈B/2⌉-th largest ratio
      const r = rowRatio(pred.eps, pred.base);
      const k = Math.ceil(B / 2);
      metrics['losses/res_ratio'] = tf.reshape(tf.slice(tf.topk(r, k).values, [k - 1], [1]), []) as tf.Scalar;
    }
    return { loss: mse, metrics };
  }

  /** DDIM sampling with `opts.steps` steps (default the config's inferSteps). */
  protected predict(obsN: Float32Array, rows: number, opts: ActOptions): Float32Array {
    const ts = ddimTimesteps(this.cfg.trainSteps, opts.steps ?? this.cfg.inferSteps);
    const probe = this.resProbe && this.resNet ? new Float64Array(rows) : null;
    let x = randn(this.noise, rows * this.chunkDim);
    if (this.js && !probe) {
      for (let i = 0; i < ts.length; i++) x = ddimStep(this.sched, x, this.epsJs(x, rows, ts[i]!, obsN), ts[i]!, i + 1 < ts.length ? ts[i + 1]! : -1, 0, undefined, this.cfg.clipSample);
      return x;
    }
    const w = this.weights();
    const obsT = tf.tensor2d(obsN, [rows, this.obsDim]);
    try {
      for (let i = 0; i < ts.length; i++) {
        const t = ts[i]!;
        const eps = tf.tidy(() => {
          const e = this.epsT(tf.tensor2d(x, [rows, this.chunkDim]), tf.fill([rows, 1], t) as tf.Tensor2D, obsT, w, !!probe);
          if (probe && e.base) { const r = rowRatio(e.eps, e.base).dataSync(); for (let k = 0; k < rows; k++) probe[k]! += r[k]! / ts.length; }
          return e.eps.dataSync() as Float32Array;
        });
        x = ddimStep(this.sched, x, eps, t, i + 1 < ts.length ? ts[i + 1]! : -1, 0, undefined, this.cfg.clipSample);
      }
    } finally {
      obsT.dispose();
    }
    if (probe) for (let k = 0; k < rows; k++) { const row = this.planRows[k] ?? k; (this.resProbe![row] ??= []).push(probe[k]!); }
    return x;
  }
}
