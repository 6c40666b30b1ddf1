/**
 * Goal-conditioned offline training from play data with hindsight goals: BESO (separate goal input with CFG masking)
 * and the goal-conditioned baselines of its study (Diffusion Policy and BC-MLP, which see the goal appended to every
 * observation frame as an extra feature `observation.goal`). One loop for all three, readable top to bottom.
 */
import { ACTION, OBS_GOAL, featureSize, type Features } from '../../sim/core/features.ts';
import type { Dataset } from '../../sim/data/dataset.ts';
import { Rng } from '../../sim/math/rng.ts';
import { concatStats } from '../common/chunked.ts';
import { Normalizer, type NormMode, type NormStats } from '../common/normalizer.ts';
import { Adam, defaultAdam } from '../common/params.ts';
import type { MethodPolicy, PolicySpec } from '../common/policy.ts';
import { getMethod } from '../registry.ts';
import { trainStep } from '../train/step.ts';
import { GoalRelabeler } from './relabel.ts';

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

export function trainGoalConditioned(ds: Dataset, o: GcTrainOptions): GcTrainResult {
  // --- model ---
  const spec = goalConditionedSpec(ds, o.method, o.config, o.obsKeys, o.goalDims);
  const policy = getMethod(o.method).create(spec, o.seed);
  policy.useEma = false; // train the live weights (the methods' forward passes read EMA weights when useEma is on)
  const h = policy.horizons;
  const opt = new Adam(policy.params, { ...defaultAdam(), lr: o.lr });

  // --- data: play windows with hindsight goals ---
  const relabel = new GoalRelabeler(ds, {
    obsKeys: o.obsKeys, obsHorizon: h.obsHorizon, predHorizon: h.predHorizon, goalDims: o.goalDims,
    goalHorizonMin: o.goalHorizonMin, goalHorizonMax: o.goalHorizonMax, goalAsObs: o.method !== 'beso', seed: o.seed,
  });
  const rng = new Rng(o.seed + 7919);

  // --- update loop ---
  const t0 = performance.now();
  const curve: [number, number][] = [];
  let avg = 0, n = 0, last = NaN;
  const every = o.logEvery ?? 500;
  for (let step = 1; step <= o.steps; step++) {
    const batch = relabel.sample(o.batchSize);
    const out = trainStep(policy, opt, batch, rng);
    if (!Number.isFinite(out.loss)) throw new Error(`${o.method}: loss became ${out.loss} at step ${step}`);
    policy.ema?.update(step);
    avg += out.loss; n++;
    if (step % every === 0 || step === o.steps) {
      last = avg / n;
      curve.push([step, last]);
      o.onLog?.(step, last, step / ((performance.now() - t0) / 1000));
      avg = 0; n = 0;
    }
  }
  opt.dispose();

  // --- evaluation weights ---
  policy.useEma = true;
  return { policy, finalLoss: last, lossCurve: curve, wallSec: (performance.now() - t0) / 1000 };
}
