/**
 * The offline training loop for dataset methods (bc, diffusion, beso and the method issues built on ChunkedPolicy),
 * over a method given as a value (`OfflineMethod`), so the registry can name it as a method's stage without a circle.
 * Reads top to bottom: data → model → (resume | warm start) → loop { update, log, eval & checkpoint }.
 * Determinism: weights from the seed (or the --init checkpoint), batches from the sampler's RNG, per-step noise from a
 * trainer RNG — all three states plus Adam and EMA are in every checkpoint, so a resumed run is bit-identical to an
 * uninterrupted one. A warm-started run writes checkpoint 0 (the weights step 1 starts from) before its first update.
 * `trainOfflineInMemory` is the same feed and update without a run folder (BESO's study trains through it).
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
import { Adam, type AdamConfig } from '../common/params.ts';
import type { MethodPolicy, PolicySpec, SafetyEnvelope } from '../common/policy.ts';
import { applyInit, assignInit, matchInitWeights, gitCommit, packTrainArrays, resolveCheckpoint, restoreTrainState, saveCheckpoint } from './checkpoint.ts';
import { DataParallelTrainer } from './data_parallel.ts';
import { evaluate } from './evaluate.ts';
import { MetricsLog } from './metrics_log.ts';
import type { TrainCallbacks, TrainConfig, TrainResult } from './run.ts';
import { trainStep, type StepOut } from './step.ts';
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
  /** Fill config fields derived from others before the spec is built (e.g. FDP's obsKeys from priority + rest). */
  completeConfig?(config: Record<string, unknown>): Record<string, unknown>;
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
  const merged = { ...method.defaultConfig(), ...cfg.methodConfig } as Record<string, unknown>;
  const mcfg = (method.completeConfig?.(merged) ?? merged) as unknown as ChunkedConfig;
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

// --- the loop's pieces: batches, per-step noise, one update ---

/** The default batch source: SequenceSampler windows → chunkedBatch (flattened observation window, action window). */
export function chunkedBatcher(ds: Dataset, spec: PolicySpec, seed: number): OfflineBatcher {
  const mcfg = spec.config as unknown as ChunkedConfig;
  const keys = resolveObsKeys(mcfg, spec.features.observation);
  const sizes = keys.map((k) => featureSize(spec.features.observation[k]!));
  const actDim = featureSize(spec.features.action[ACTION]!);
  const sampler = new SequenceSampler(ds, { obsHorizon: mcfg.obsHorizon, actionHorizon: mcfg.predHorizon, actionOffset: -(mcfg.obsHorizon - 1), keys, seed });
  return {
    sample: (n) => chunkedBatch(sampler.sample(n), keys, sizes, mcfg.obsHorizon, mcfg.predHorizon, actDim),
    getState: () => sampler.getState(),
    setState: (st) => sampler.setState([...st]),
  };
}

/**
 * Where every update's data and noise come from, in the order they are drawn: the next batch, then one u32 of the
 * trainer RNG (seed ^ 0x51ed) that seeds that step's noise. Its state is the checkpoint's `trainer` record.
 */
export class OfflineFeed {
  private readonly rng: Rng;
  constructor(private readonly batches: OfflineBatcher, private readonly batchSize: number, seed: number) {
    this.rng = new Rng(seed ^ 0x51ed);
  }

  next(): { batch: Batch; stepSeed: number } {
    const batch = this.batches.sample(this.batchSize);
    return { batch, stepSeed: this.rng.nextU32() };
  }

  getState(): { rng: number[]; sampler: number[] } { return { rng: this.rng.getState(), sampler: this.batches.getState() }; }

  /** Restore from a checkpoint's `trainer` record (`where` names the file in the error). */
  setState(tr: unknown, where: string): void {
    const t = tr as { rng?: unknown; sampler?: unknown } | null;
    if (!Array.isArray(t?.rng) || !Array.isArray(t?.sampler)) throw new Error(`corrupt ${where}: missing RNG states`);
    this.rng.setState(t.rng as number[]);
    this.batches.setState(t.sampler as number[]);
  }
}

/** One in-process update: the method's loss on `batch` with per-step noise Rng(stepSeed), Adam, then the EMA. */
export function localUpdate(policy: MethodPolicy, opt: Adam, batch: Batch, stepSeed: number): StepOut {
  const out = trainStep(policy, opt, batch, new Rng(stepSeed));
  policy.ema?.update(opt.step);
  return out;
}

// --- in memory: no run folder (studies train many small models) ---

/** Options of `trainOfflineInMemory`. */
export interface InMemoryOptions {
  /** Optimisation steps. */
  steps: number;
  /** Samples per step. */
  batchSize: number;
  /** Optimiser (AdamW) settings. */
  optim: AdamConfig;
  /** Weight-init, batch and noise seed (the run-folder loop's `cfg.seed`). */
  seed: number;
  /** Batch source; default: the method's `batcher`, else SequenceSampler windows. */
  batcher?: OfflineBatcher;
  /** Called after every update with its loss and metrics. */
  onStep?(step: number, loss: number, metrics: Record<string, number>): void;
  /** Learning-rate schedule over the steps: 'constant' (default) or 'cosine' (lr·½(1 + cos(π·(step − 1)/steps)), to 0). */
  lrSchedule?: 'constant' | 'cosine';
  /**
   * Warm start (the in-memory `--init`): name → data of a parent's inference weights, copied into live and EMA
   * weights; parameters the parent lacks must be the policy's `ownInitParams` (see checkpoint.ts `matchInitWeights`).
   */
  init?: Record<string, Float32Array>;
}

/**
 * The offline loop without a run folder: the same feed and update as `runOffline` in-process (same seed, spec and
 * steps ⇒ bit-identical weights), no checkpoints, no evaluation, synchronous. Returns the policy (caller disposes).
 */
export function trainOfflineInMemory(method: OfflineMethod, ds: Dataset, spec: PolicySpec, o: InMemoryOptions): MethodPolicy {
  // --- model, optimiser, feed ---
  const policy = method.create(spec, o.seed);
  if (o.init) {
    const init = o.init;
    try {
      assignInit(policy, matchInitWeights(init, Object.fromEntries(Object.entries(init).filter(([n]) => policy.params.names.includes(n)).map(([n]) => [n, policy.params.get(n).shape])), policy, 'init'));
    } catch (e) { policy.dispose(); throw e; }
  }
  const opt = new Adam(policy.params, o.optim);
  const feed = new OfflineFeed(o.batcher ?? method.batcher?.(ds, spec, o.seed) ?? chunkedBatcher(ds, spec, o.seed), o.batchSize, o.seed);

  // --- update loop ---
  try {
    for (let step = 1; step <= o.steps; step++) {
      const { batch, stepSeed } = feed.next();
      if (o.lrSchedule === 'cosine') opt.cfg = { ...o.optim, lr: o.optim.lr * 0.5 * (1 + Math.cos((Math.PI * (step - 1)) / o.steps)) };
      const { loss, metrics } = localUpdate(policy, opt, batch, stepSeed);
      if (!Number.isFinite(loss)) throw new Error(`${policy.method}: training diverged at step ${step} (loss ${loss})`);
      o.onStep?.(step, loss, metrics);
    }
  } catch (e) {
    policy.dispose();
    throw e;
  } finally {
    opt.dispose();
  }
  return policy;
}

// --- in a run folder ---

/** The batch size every stage's default may use even on a smaller dataset (it then samples frames repeatedly). */
export const DEFAULT_BATCH_ALLOWANCE = 256;

/**
 * Refuse a batch larger than the dataset (beyond DEFAULT_BATCH_ALLOWANCE) before anything is allocated: a batch of
 * 10^8 on 327 frames would build gigabytes of copies of the same frames.
 */
export function checkBatchSize(batchSize: number, numFrames: number): void {
  const max = Math.max(numFrames, DEFAULT_BATCH_ALLOWANCE);
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > max) {
    throw new Error(`batch size ${batchSize} is out of range [1, ${max}]: the dataset has ${numFrames} frames (use --batch ≤ ${max})`);
  }
}

/** Train `method` offline into `runDir` (fresh, warm-started from `cfg.init`, or resumed); the caller disposes the policy. */
export async function runOffline(method: OfflineMethod, runDir: string, cfg: TrainConfig, resume: boolean, cb: TrainCallbacks = {}): Promise<TrainResult> {
  // --- data ---
  if (!cfg.data) throw new Error(`method ${cfg.method} needs --data DIR (a dataset written by \`stride demos\`)`);
  const ds = await readDataset(cfg.data);
  if (ds.info.sceneId !== cfg.sceneId) throw new Error(`dataset ${cfg.data} was recorded in scene ${ds.info.sceneId}, not ${cfg.sceneId}`);
  checkBatchSize(cfg.batchSize, ds.info.numFrames);
  const spec = offlineSpec(method, cfg, ds);

  // --- model & optimiser ---
  const policy = method.create(spec, cfg.seed);
  const opt = new Adam(policy.params, cfg.optim);
  // A method may build its own batches (e.g. BESO: hindsight goals); the feed's state goes into checkpoints.
  const feed = new OfflineFeed(method.batcher?.(ds, spec, cfg.seed) ?? chunkedBatcher(ds, spec, cfg.seed), cfg.batchSize, cfg.seed);
  const envelope = envelopeFromDataset(ds);
  const log = new MetricsLog(path.join(runDir, 'metrics.jsonl'));
  let start = 0;

  // --- resume, or warm start from another run's inference weights ---
  let warm = false;
  if (resume && existsSync(path.join(runDir, 'latest'))) {
    const ck = resolveCheckpoint(runDir);
    const st = restoreTrainState(ck, policy, opt);
    feed.setState(st.trainer, `${ck}/train_state.json`);
    start = st.step;
    log.truncateAfter(start);
  } else if (cfg.init) {
    applyInit(cfg.init, policy, [opt, policy]);
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
      evalOut = { 'eval/success_rate': r.successRate, 'eval/success_rate_ci95_low': r.ci95[0], 'eval/success_rate_ci95_high': r.ci95[1], 'eval/return_mean': r.returnMean, 'eval/length_mean': r.lengthMean };
      log.log(step, evalOut);
    }
    const dir = await saveCheckpoint(runDir, step, policy, {
      safetyEnvelope: envelope, trainingCommand: cfg.command, gitCommit: gitCommit(), backend: backendName(), sceneId: cfg.sceneId, ...(cfg.init ? { init: cfg.init } : {}),
    }, { step, adamStep: optState.step, trainer: feed.getState(), arrays: packTrainArrays(policy.params.names, { weights, m: optState.m, v: optState.v, ema }) });
    cb.onCheckpoint?.(step, dir, evalOut);
  };
  cb.onStart?.(cfg.steps, start);

  try {
    if (warm) await checkpoint(0);
    let t0 = performance.now(), samples = 0;
    for (let step = start + 1; step <= cfg.steps; step++) {
      // --- update ---
      const { batch, stepSeed } = feed.next();
      const { loss, metrics } = dp ? await dp.step(batch, stepSeed) : localUpdate(policy, opt, batch, stepSeed);
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
