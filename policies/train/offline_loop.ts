/**
 * The offline training loop for dataset methods (bc, diffusion, beso and the method issues built on ChunkedPolicy),
 * over a method given as a value (`OfflineMethod`), so the registry can name it as a method's stage without a circle.
 * Reads top to bottom: data → model → (resume | warm start) → loop { update, log, eval & checkpoint }.
 * Determinism: weights from the seed (or the --init checkpoint), batches from the sampler's RNG, per-step noise from a
 * trainer RNG — all three states plus Adam and EMA are in every checkpoint, so a resumed run is bit-identical to an
 * uninterrupted one. A warm-started run writes checkpoint 0 (the weights step 1 starts from) before its first update.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ACTION, featureSize, type Features } from '../../sim/core/features.ts';
import { Rng } from '../../sim/math/rng.ts';
import { readDataset, SequenceSampler, type Dataset } from '../../sim/data/dataset.ts';
import { backendName } from '../common/backend.ts';
import { chunkedBatch, concatStats, resolveObsKeys, type ChunkedConfig } from '../common/chunked.ts';
import { Normalizer } from '../common/normalizer.ts';
import { Adam } from '../common/params.ts';
import type { MethodPolicy, PolicySpec, SafetyEnvelope } from '../common/policy.ts';
import { applyInit, gitCommit, packTrainArrays, resolveCheckpoint, restoreTrainState, saveCheckpoint } from './checkpoint.ts';
import { DataParallelTrainer } from './data_parallel.ts';
import { evaluate } from './evaluate.ts';
import { MetricsLog } from './metrics_log.ts';
import type { TrainCallbacks, TrainConfig, TrainResult } from './run.ts';
import { trainStep } from './step.ts';
import type { Batch } from './trainable.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

/** A seeded batch source over a dataset; its state (plain numbers) goes into checkpoints for bit-exact resume. */
export interface OfflineBatcher {
  sample(batchSize: number): Batch;
  getState(): number[];
  setState(s: readonly number[]): void;
}

/** What the offline loop needs from a method (the registry's MethodDef is one). */
export interface OfflineMethod {
  defaultConfig(): object;
  create(spec: PolicySpec, seed: number): MethodPolicy;
  /**
   * Batches that need more than (observation window, action window) — e.g. BESO's hindsight goals; the default is the
   * SequenceSampler + chunkedBatch.
   */
  batcher?(ds: Dataset, spec: PolicySpec, seed: number): OfflineBatcher;
}

/** Observation features of a dataset = every feature except the action. */
export function datasetObsFeatures(ds: Dataset): Features {
  return Object.fromEntries(Object.entries(ds.info.features).filter(([k]) => k !== ACTION));
}

/** Safety envelope from the action feature bounds and the largest per-step change seen in the data (×1.25). */
export function envelopeFromDataset(ds: Dataset): SafetyEnvelope {
  const spec = ds.info.features[ACTION]!;
  const n = featureSize(spec), col = ds.columns[ACTION]!;
  const lo = Array(n).fill(spec.low ?? -Infinity), hi = Array(n).fill(spec.high ?? Infinity);
  const maxD = Array(n).fill(0);
  let s = 0;
  for (const e of ds.episodeEnds) {
    for (let t = s + 1; t < e; t++) for (let j = 0; j < n; j++) maxD[j] = Math.max(maxD[j], Math.abs(col[t * n + j]! - col[(t - 1) * n + j]!));
    s = e;
  }
  return {
    actionLow: lo, actionHigh: hi,
    maxDeltaPerStep: maxD.map((d, j) => { const range = hi[j] - lo[j]; const v = d * 1.25; return Number.isFinite(range) ? Math.min(range, Math.max(v, 1e-3)) : Math.max(v, 1e-3); }),
  };
}

/** The spec of `cfg.method` for dataset `ds`: method config over its defaults, features and normalisers from the data. */
export function offlineSpec(method: OfflineMethod, cfg: TrainConfig, ds: Dataset): PolicySpec {
  const mcfg = { ...method.defaultConfig(), ...cfg.methodConfig } as unknown as ChunkedConfig;
  const obsF = datasetObsFeatures(ds);
  const keys = resolveObsKeys(mcfg, obsF);
  const obsN = Normalizer.fromStats(mcfg.obsNorm, concatStats(keys, ds.stats));
  const actN = Normalizer.fromStats(mcfg.actionNorm, concatStats([ACTION], ds.stats));
  return {
    method: cfg.method, config: mcfg as unknown as Record<string, unknown>,
    features: { observation: obsF, action: { [ACTION]: ds.info.features[ACTION]! } },
    normalizers: { obs: obsN.toJSON(), action: actN.toJSON() },
  };
}

/** Train `method` offline into `runDir` (fresh, warm-started from `cfg.init`, or resumed); the caller disposes the policy. */
export async function runOffline(method: OfflineMethod, runDir: string, cfg: TrainConfig, resume: boolean, cb: TrainCallbacks = {}): Promise<TrainResult> {
  // --- data ---
  if (!cfg.data) throw new Error(`method ${cfg.method} needs --data DIR (a dataset written by \`stride demos\`)`);
  const ds = await readDataset(cfg.data);
  if (ds.info.sceneId !== cfg.sceneId) throw new Error(`dataset ${cfg.data} was recorded in scene ${ds.info.sceneId}, not ${cfg.sceneId}`);
  const spec = offlineSpec(method, cfg, ds);
  const mcfg = spec.config as unknown as ChunkedConfig;

  // --- model & optimiser ---
  const policy = method.create(spec, cfg.seed);
  const opt = new Adam(policy.params, cfg.optim);
  const keys = resolveObsKeys(mcfg, spec.features.observation);
  const sizes = keys.map((k) => featureSize(spec.features.observation[k]!));
  const actDim = featureSize(spec.features.action[ACTION]!);
  const sampler = new SequenceSampler(ds, { obsHorizon: mcfg.obsHorizon, actionHorizon: mcfg.predHorizon, actionOffset: -(mcfg.obsHorizon - 1), keys, seed: cfg.seed });
  // A method may build its own batches (e.g. BESO: hindsight goals); its state replaces the sampler's in checkpoints.
  const custom = method.batcher?.(ds, spec, cfg.seed) ?? null;
  const batchState = custom ?? sampler;
  const rng = new Rng(cfg.seed ^ 0x51ed);
  const envelope = envelopeFromDataset(ds);
  const log = new MetricsLog(path.join(runDir, 'metrics.jsonl'));
  let start = 0;

  // --- resume, or warm start from another run's inference weights ---
  let warm = false;
  if (resume && existsSync(path.join(runDir, 'latest'))) {
    const ck = resolveCheckpoint(runDir);
    const st = restoreTrainState(ck, policy, opt);
    const tr = st.trainer as { rng: number[]; sampler: number[] };
    if (!Array.isArray(tr?.rng) || !Array.isArray(tr?.sampler)) throw new Error(`corrupt ${ck}/train_state.json: missing RNG states`);
    rng.setState(tr.rng);
    batchState.setState(tr.sampler);
    start = st.step;
    log.truncateAfter(start);
  } else if (cfg.init) {
    try {
      applyInit(cfg.init, policy);
    } catch (e) {
      opt.dispose(); policy.dispose();
      throw e;
    }
    warm = true;
  }
  let dp: DataParallelTrainer | null = null;
  if (cfg.workers > 1) {
    dp = await DataParallelTrainer.start({ module: path.join(here, 'method_trainable.ts'), config: spec, seed: cfg.seed, workers: cfg.workers, backend: cfg.backendRunning, adam: cfg.optim });
    // Replicas build their weights from the seed: a resumed or warm-started run pushes its own to every one.
    if (start > 0 || warm) await dp.setState(policy.params.toArrays(), opt.state(), policy.ema?.toArrays() ?? null);
  }

  // --- eval & checkpoint (every checkpointEvery steps, at the end, and at step 0 of a warm start) ---
  const checkpoint = async (step: number): Promise<void> => {
    let weights: Record<string, Float32Array>, optState = opt.state(), ema: Record<string, Float32Array> | null = policy.ema?.toArrays() ?? null;
    if (dp) {
      // Step 0 reads every replica back and checks they agree: the weights the first update starts from, everywhere.
      const s = await dp.state(step === 0);
      weights = s.weights; optState = s.opt; ema = s.ema;
      policy.params.assignArrays(weights); opt.setState(optState);
      if (ema && policy.ema) policy.ema.assignArrays(ema);
    } else weights = policy.params.toArrays();
    let evalOut: Record<string, number> | undefined;
    if (cfg.evalEpisodes > 0) {
      policy.seedNoise(cfg.seed + step);
      const r = await evaluate(policy, { sceneId: cfg.sceneId, overrides: cfg.overrides, episodes: cfg.evalEpisodes, seed: 1_000_000 + cfg.seed });
      evalOut = { 'eval/success_rate': r.successRate, 'eval/return_mean': r.returnMean, 'eval/length_mean': r.lengthMean };
      log.log(step, evalOut);
    }
    const dir = await saveCheckpoint(runDir, step, policy, {
      safetyEnvelope: envelope, trainingCommand: cfg.command, gitCommit: gitCommit(), backend: backendName(), sceneId: cfg.sceneId, ...(cfg.init ? { init: cfg.init } : {}),
    }, { step, adamStep: optState.step, trainer: { rng: rng.getState(), sampler: batchState.getState() }, arrays: packTrainArrays(policy.params.names, { weights, m: optState.m, v: optState.v, ema }) });
    cb.onCheckpoint?.(step, dir, evalOut);
  };
  cb.onStart?.(cfg.steps, start);

  try {
    if (warm) await checkpoint(0);
    let t0 = performance.now(), samples = 0;
    for (let step = start + 1; step <= cfg.steps; step++) {
      // --- update ---
      const batch = custom ? custom.sample(cfg.batchSize) : chunkedBatch(sampler.sample(cfg.batchSize), keys, sizes, mcfg.obsHorizon, mcfg.predHorizon, actDim);
      const stepSeed = rng.nextU32();
      let loss: number, metrics: Record<string, number>;
      if (dp) {
        ({ loss, metrics } = await dp.step(batch, stepSeed));
      } else {
        ({ loss, metrics } = trainStep(policy, opt, batch, new Rng(stepSeed)));
        policy.ema?.update(opt.step);
      }
      if (!Number.isFinite(loss)) throw new Error(`training diverged at step ${step} (loss ${loss})`);
      samples += cfg.batchSize;
      if (step % 10 === 0) await new Promise((r) => setImmediate(r)); // let timers/IPC run (progress bar, test runner)

      // --- log ---
      if (step % cfg.logEvery === 0 || step === cfg.steps) {
        const dt = (performance.now() - t0) / 1000;
        const sps = samples / Math.max(dt, 1e-9);
        log.log(step, { 'losses/loss': loss, ...metrics, 'perf/samples_per_sec': sps, 'perf/backend': backendName(), 'perf/workers': cfg.workers });
        cb.onProgress?.(step, loss, sps);
        t0 = performance.now(); samples = 0;
      }

      // --- eval & checkpoint ---
      if (step % cfg.checkpointEvery === 0 || step === cfg.steps) await checkpoint(step);
    }
  } finally {
    await dp?.close();
    opt.dispose();
  }
  return { step: cfg.steps, policy };
}
