/**
 * Hindsight goal relabelling on top of the dataset's SequenceSampler: for a window anchored at frame t of an episode
 * ending at e, the goal is `goalDims` of the observation frame min(t + k, e − 1), k ~ U{kMin … kMax} — a state the
 * same play episode actually reached later. Produces the batch columns 'obs' (B × To·frame), 'action' (B × Tp·A) and
 * 'goal' (B × goalDim), raw (the policy normalises).
 *
 * `goalAsObs` (for the goal-conditioned BC / Diffusion Policy baselines, which have no separate goal input): the goal
 * is appended to every observation frame instead, i.e. the frame becomes [obs…, goal…].
 */
import { featureSize } from '../../sim/core/features.ts';
import { SequenceSampler, type Dataset } from '../../sim/data/dataset.ts';
import { Rng } from '../../sim/math/rng.ts';
import { BATCH_ACTION, BATCH_OBS } from '../common/chunked.ts';
import type { PolicySpec } from '../common/policy.ts';
import type { OfflineBatcher } from '../train/offline_loop.ts';
import type { Batch } from '../train/trainable.ts';
import { BATCH_GOAL, type BesoConfig } from './index.ts';

export interface RelabelOptions {
  /** Observation keys of one frame, in order (flattened). */
  obsKeys: string[];
  obsHorizon: number;
  predHorizon: number;
  /** Indices into the flattened frame forming the goal (empty = whole frame). */
  goalDims: number[];
  goalHorizonMin: number;
  goalHorizonMax: number;
  /** Append the goal to every observation frame instead of a separate 'goal' column. */
  goalAsObs?: boolean;
  seed: number;
}

export class GoalRelabeler {
  readonly sampler: SequenceSampler;
  readonly frameDim: number;
  readonly goalIdx: number[];
  readonly actDim: number;
  private readonly rng: Rng;
  private readonly epEnd: Int32Array;
  private readonly sizes: number[];

  constructor(private readonly ds: Dataset, readonly o: RelabelOptions) {
    if (!(o.goalHorizonMin >= 1 && o.goalHorizonMax >= o.goalHorizonMin)) throw new Error(`relabel: need 1 ≤ goalHorizonMin ≤ goalHorizonMax, got ${o.goalHorizonMin}, ${o.goalHorizonMax}`);
    this.sampler = new SequenceSampler(ds, { obsHorizon: o.obsHorizon, actionHorizon: o.predHorizon, actionOffset: -(o.obsHorizon - 1), keys: o.obsKeys, seed: o.seed });
    this.sizes = o.obsKeys.map((k) => featureSize(ds.info.features[k]!));
    this.frameDim = this.sizes.reduce((a, b) => a + b, 0);
    this.goalIdx = o.goalDims.length ? [...o.goalDims] : Array.from({ length: this.frameDim }, (_, i) => i);
    this.actDim = featureSize(ds.info.features.action!);
    this.rng = new Rng(o.seed ^ 0x9e3779b9);
    const n = ds.info.numFrames;
    this.epEnd = new Int32Array(n);
    let s = 0;
    for (const e of ds.episodeEnds) { for (let t = s; t < e; t++) this.epEnd[t] = e; s = e; }
  }

  /** Flattened observation frame `f` (global index) in obsKeys order. */
  frame(f: number, out: Float32Array, offset: number): void {
    let o = offset;
    this.o.obsKeys.forEach((k, ki) => {
      const size = this.sizes[ki]!, col = this.ds.columns[k]!;
      for (let j = 0; j < size; j++) out[o++] = col[f * size + j]!;
    });
  }

  /** The hindsight goal frame index for anchor t. */
  goalFrame(t: number): number {
    const k = this.o.goalHorizonMin + this.rng.int(this.o.goalHorizonMax - this.o.goalHorizonMin + 1);
    return Math.min(t + k, this.epEnd[t]! - 1);
  }

  sample(batchSize: number): Batch {
    const sb = this.sampler.sample(batchSize);
    const To = this.o.obsHorizon, F = this.frameDim, G = this.goalIdx.length, B = batchSize;
    const goal = new Float32Array(B * G), tmp = new Float32Array(F);
    for (let b = 0; b < B; b++) {
      this.frame(this.goalFrame(sb.anchors[b]!), tmp, 0);
      for (let j = 0; j < G; j++) goal[b * G + j] = tmp[this.goalIdx[j]!]!;
    }
    const rowF = this.o.goalAsObs ? F + G : F;
    const obs = new Float32Array(B * To * rowF);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < To; t++) {
        let o = (b * To + t) * rowF;
        this.o.obsKeys.forEach((k, ki) => {
          const size = this.sizes[ki]!, src = sb.obs[k]!, s0 = (b * To + t) * size;
          for (let j = 0; j < size; j++) obs[o++] = src[s0 + j]!;
        });
        if (this.o.goalAsObs) for (let j = 0; j < G; j++) obs[o++] = goal[b * G + j]!;
      }
    }
    const batch: Batch = {
      [BATCH_OBS]: { data: obs, shape: [B, To * rowF] },
      [BATCH_ACTION]: { data: sb.action, shape: [B, this.o.predHorizon * this.actDim] },
    };
    if (!this.o.goalAsObs) batch[BATCH_GOAL] = { data: goal, shape: [B, G] };
    return batch;
  }

  getState(): { sampler: number[]; rng: number[] } { return { sampler: this.sampler.getState(), rng: this.rng.getState() }; }
  setState(s: { sampler: number[]; rng: number[] }): void { this.sampler.setState(s.sampler); this.rng.setState(s.rng); }
}

/** A relabeler as the offline loop's batch source (its state flattened to 8 numbers: sampler, then goal RNG). */
export function relabelBatcher(r: GoalRelabeler): OfflineBatcher {
  return {
    sample: (n) => r.sample(n),
    getState: () => { const s = r.getState(); return [...s.sampler, ...s.rng]; },
    setState: (s) => { if (s.length !== 8) throw new Error(`relabel batcher: expected 8 state words, got ${s.length}`); r.setState({ sampler: s.slice(0, 4), rng: s.slice(4) }); },
  };
}

/** The offline trainer's batch source for BESO (`stride train --method beso`): hindsight goals from the spec's config. */
export function besoBatcher(ds: Dataset, spec: PolicySpec, seed: number): OfflineBatcher {
  const c = spec.config as unknown as BesoConfig;
  const obsKeys = c.obsKeys.length ? [...c.obsKeys] : Object.keys(spec.features.observation).sort();
  return relabelBatcher(new GoalRelabeler(ds, { obsKeys, obsHorizon: c.obsHorizon, predHorizon: c.predHorizon, goalDims: c.goalDims, goalHorizonMin: c.goalHorizonMin, goalHorizonMax: c.goalHorizonMax, seed }));
}
