/**
 * Goal-conditioned offline training from play data with hindsight goals: BESO (separate goal input with CFG masking)
 * and the goal-conditioned baselines of its study (Diffusion Policy and BC-MLP, which see the goal appended to every
 * observation frame as an extra feature `observation.goal`). They train through the shared offline loop
 * (`policies/train/offline_loop.ts`, in memory); this file builds their spec and their hindsight-goal batches.
 */
import { ACTION, OBS_GOAL, featureSize, type Features } from '../../sim/core/features.ts';
import type { Dataset } from '../../sim/data/dataset.ts';
import { concatStats, type ChunkedConfig } from '../common/chunked.ts';
import { Normalizer, type NormMode, type NormStats } from '../common/normalizer.ts';
import { defaultAdam } from '../common/params.ts';
import type { MethodPolicy, PolicySpec } from '../common/policy.ts';
import { getMethod } from '../registry.ts';
import { trainOfflineInMemory } from '../train/offline_loop.ts';
import { GoalRelabeler, relabelBatcher } from './relabel.ts';

export interface GcTrainOptions {
  /** 'beso' (goal input + CFG) or a goal-as-observation baseline ('diffusion', 'bc'). */
  method: string;
  /** Method config overrides (merged over the method's default config). */
  config: Record<string, unknown>;
  /** Observation keys of one frame. */
  obsKeys: string[];
  /** Frame indices forming the goal (empty = whole frame). */
  goalDims: number[];
  /** Hindsight horizon range (frames ahead). */
  goalHorizonMin: number;
  goalHorizonMax: number;
  steps: number;
  batchSize: number;
  lr: number;
  /** Weight-init and training-noise seed. */
  seed: number;
  /** Learning-rate schedule (default constant; the Block-Push study uses cosine decay). */
  lrSchedule?: 'constant' | 'cosine';
  /** Called every `logEvery` steps. */
  onLog?: (step: number, loss: number, sps: number) => void;
  logEvery?: number;
}

/** Spec of a goal-conditioned policy for `ds`: normalisers from the dataset stats (goal stats = its frame dims). */
export function goalConditionedSpec(ds: Dataset, method: string, config: Record<string, unknown>, obsKeys: string[], goalDims: number[]): PolicySpec {
  const cfg = { ...getMethod(method).defaultConfig(), ...config } as Record<string, unknown> & { obsNorm: NormMode; actionNorm: NormMode };
  const frame = concatStats(obsKeys, ds.stats);
  const idx = goalDims.length ? goalDims : frame.min.map((_, i) => i);
  const observation: Record<string, Features[string]> = {};
  for (const k of obsKeys) observation[k] = ds.info.features[k]!;
  let stats: NormStats = frame;
  if (method === 'beso') {
    cfg.obsKeys = obsKeys;
    cfg.goalDims = idx;
  } else {
    observation[OBS_GOAL] = { kind: 'goal', shape: [idx.length], dtype: 'float32', names: idx.map((i) => `goal_${i}`) };
    cfg.obsKeys = [...obsKeys, OBS_GOAL];
    const pick = (a: number[]) => idx.map((i) => a[i]!);
    stats = { min: [...frame.min, ...pick(frame.min)], max: [...frame.max, ...pick(frame.max)], mean: [...frame.mean, ...pick(frame.mean)], std: [...frame.std, ...pick(frame.std)] };
  }
  const aSpec = ds.info.features[ACTION];
  if (!aSpec || !ds.stats[ACTION]) throw new Error(`dataset ${ds.info.sceneId}: no '${ACTION}' feature`);
  if (featureSize(aSpec) !== ds.stats[ACTION].min.length) throw new Error('dataset action stats do not match the action feature');
  return {
    method, config: cfg,
    features: { observation, action: { [ACTION]: aSpec } },
    normalizers: {
      obs: Normalizer.fromStats(cfg.obsNorm, stats).toJSON(),
      action: Normalizer.fromStats(cfg.actionNorm, ds.stats[ACTION]).toJSON(),
    },
  };
}

export interface GcTrainResult { policy: MethodPolicy; finalLoss: number; lossCurve: [number, number][]; wallSec: number }

/**
 * Train a goal-conditioned policy on `ds` with hindsight goals: the shared offline loop in memory
 * (`trainOfflineInMemory`: same feed, update and EMA as `stride train`), with the relabeler as its batch source.
 */
export function trainGoalConditioned(ds: Dataset, o: GcTrainOptions): GcTrainResult {
  // --- spec and data: play windows with hindsight goals ---
  const spec = goalConditionedSpec(ds, o.method, o.config, o.obsKeys, o.goalDims);
  const h = spec.config as unknown as ChunkedConfig;
  const relabel = new GoalRelabeler(ds, {
    obsKeys: o.obsKeys, obsHorizon: h.obsHorizon, predHorizon: h.predHorizon, goalDims: o.goalDims,
    goalHorizonMin: o.goalHorizonMin, goalHorizonMax: o.goalHorizonMax, goalAsObs: o.method !== 'beso', seed: o.seed,
  });

  // --- the offline loop; the loss curve averages each logEvery window ---
  const t0 = performance.now();
  const curve: [number, number][] = [];
  let avg = 0, n = 0, last = NaN;
  const every = o.logEvery ?? 500;
  const policy = trainOfflineInMemory(getMethod(o.method), ds, spec, {
    steps: o.steps, batchSize: o.batchSize, optim: { ...defaultAdam(), lr: o.lr }, seed: o.seed, batcher: relabelBatcher(relabel), lrSchedule: o.lrSchedule,
    onStep: (step, loss) => {
      avg += loss; n++;
      if (step % every === 0 || step === o.steps) {
        last = avg / n;
        curve.push([step, last]);
        o.onLog?.(step, last, step / ((performance.now() - t0) / 1000));
        avg = 0; n = 0;
      }
    },
  });
  policy.useEma = true; // evaluate the EMA weights (the losses read the live ones)
  return { policy, finalLoss: last, lossCurve: curve, wallSec: (performance.now() - t0) / 1000 };
}
