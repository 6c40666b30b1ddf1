/**
 * Methods by name (for `stride train --method`, checkpoints and data-parallel workers). Each method issue adds one
 * entry: its config defaults, how to build its policy from a serialisable PolicySpec and a weight-init seed, and —
 * when it is not a plain dataset method — its training stages.
 *
 * A stage is one way to train the method: the offline loop over a dataset (the default of every method), an online
 * loop in the scene (PPO), or both for a method that pretrains offline and fine-tunes online (`--config stage=NAME`,
 * recorded as `stage` in config.json; chain them with `--init`). Training loops are imported lazily, so loading a
 * policy does not load a trainer, and no loop imports this file back.
 */
import { checkRanges, type Ranges } from '../sim/core/config.ts';
import type { Dataset } from '../sim/data/dataset.ts';
import type { AdamConfig } from './common/params.ts';
import type { MethodPolicy, PolicySpec } from './common/policy.ts';
import type { OfflineBatcher } from './train/offline_loop.ts';
import type { TrainCallbacks, TrainConfig, TrainResult } from './train/run.ts';
import { BcPolicy, defaultBcConfig, type BcConfig } from './bc/index.ts';
import { DiffusionPolicy, defaultDiffusionConfig, type DiffusionConfig } from './diffusion/index.ts';
import { PpoPolicy, defaultPpoConfig, type PpoConfig } from './ppo/index.ts';
import { BesoPolicy, defaultBesoConfig, type BesoConfig } from './beso/index.ts';
import { besoBatcher } from './beso/relabel.ts';
import { FdpPolicy, defaultFdpConfig, fdpObsKeys, type FdpConfig } from './fdp/index.ts';

export type { OfflineBatcher } from './train/offline_loop.ts';

/** Training settings a stage chooses for itself; `stride train`'s flags (--lr, --batch, --checkpoint-every) override them. */
export interface TrainDefaults {
  /** Optimiser settings laid over `defaultAdam()`. */
  optim: Partial<AdamConfig>;
  /** Batch size (offline: samples per step). */
  batchSize: number;
  /** Checkpoint (and evaluate) every this many steps, capped at the run length; 0 = only at the end. */
  checkpointEvery: number;
  /** Log losses every this many steps. */
  logEvery: number;
}

/** One way to train a method. */
export interface TrainStage {
  /** What the stage learns from: 'dataset' (needs --data) or 'env' (interacts with the scene). */
  source: 'dataset' | 'env';
  trainDefaults(): TrainDefaults;
  /** Train into `runDir`: fresh, warm-started from `cfg.init`, or resumed from its latest checkpoint. */
  train(runDir: string, cfg: TrainConfig, resume: boolean, cb: TrainCallbacks): Promise<TrainResult>;
}

/** What a method entry declares. */
export interface MethodDecl<C extends object> {
  /** The method's config defaults (`--config key=value` overrides them; the result is the spec's `config`). */
  defaultConfig(): C;
  /**
   * The range of every numeric config field (array elements as `name[]`, array lengths as `name#len`); a field left
   * out gets `derivedRange` of its default. `checkMethodConfig` applies them before anything is built or trained.
   */
  configRanges: Ranges;
  /** Build the policy from a serialisable spec and a weight-init seed (same seed ⇒ same initial weights). */
  create(spec: PolicySpec, seed: number): MethodPolicy;
  /**
   * Offline methods whose batches need more than (observation window, action window) — e.g. BESO's hindsight goals —
   * build them here; the default is the SequenceSampler + chunkedBatch of the offline loop.
   */
  batcher?(ds: Dataset, spec: PolicySpec, seed: number): OfflineBatcher;
  /** Fill config fields derived from others before a dataset spec is built (e.g. FDP's obsKeys from priority + rest). */
  completeConfig?(config: Record<string, unknown>): Record<string, unknown>;
  /** Training stages by name, in order; the first is the default. Absent = `{ offline: OFFLINE_STAGE }`. */
  stages?: Record<string, TrainStage>;
}

/** A registered method: its declaration plus stage lookup and training through the chosen stage. */
export interface MethodDef<C extends object = object> extends MethodDecl<C> {
  readonly name: string;
  readonly stages: Readonly<Record<string, TrainStage>>;
  /** The stage's name used when none is given (the first declared). */
  readonly defaultStage: string;
  /** Stage `name` (default: defaultStage); an unknown name throws, listing the method's stages. */
  stage(name?: string): TrainStage;
  /** Training defaults of stage `name` (default: defaultStage). */
  trainDefaults(stage?: string): TrainDefaults;
  /** Train with the stage `cfg.stage` names (default: defaultStage); the caller disposes the returned policy. */
  train(runDir: string, cfg: TrainConfig, resume: boolean, cb?: TrainCallbacks): Promise<TrainResult>;
}

// --- stages ---

/** The offline loop over a dataset (`policies/train/offline_loop.ts`): bit-exact resume, data-parallel workers. */
export const OFFLINE_STAGE: TrainStage = {
  source: 'dataset',
  trainDefaults: () => ({ optim: {}, batchSize: 256, checkpointEvery: 1000, logEvery: 10 }),
  async train(runDir, cfg, resume, cb) {
    const { runOffline } = await import('./train/offline_loop.ts');
    return runOffline(getMethod(cfg.method), runDir, cfg, resume, cb);
  },
};

/** PPO in the scene (`policies/ppo/train.ts`); steps are environment steps, one checkpoint at the end by default. */
export const PPO_STAGE: TrainStage = {
  source: 'env',
  trainDefaults: () => ({ optim: { lr: 3e-4, clipGradNorm: 0.5 }, batchSize: 256, checkpointEvery: 0, logEvery: 10 }),
  async train(runDir, cfg, resume, cb) {
    const { trainPpo } = await import('./ppo/train.ts');
    const r = await trainPpo(runDir, cfg, resume, cb);
    return { step: cfg.steps, policy: r.policy };
  },
};

// --- the table ---

const methods = new Map<string, MethodDef>();

export function registerMethod<C extends object>(name: string, decl: MethodDecl<C>): void {
  if (methods.has(name)) throw new Error(`method '${name}' registered twice`);
  const stages = decl.stages ?? { offline: OFFLINE_STAGE };
  const names = Object.keys(stages);
  if (!names.length) throw new Error(`method '${name}' declares no training stage`);
  const stage = (s?: string): TrainStage => {
    const st = stages[s ?? names[0]!];
    if (!st) throw new Error(`method ${name} has no stage '${s}' (stages: ${names.join(', ')})`);
    return st;
  };
  const def: MethodDef<C> = {
    ...decl, name, stages, defaultStage: names[0]!, stage,
    trainDefaults: (s) => stage(s).trainDefaults(),
    train: (runDir, cfg, resume, cb = {}) => stage(cfg.stage).train(runDir, cfg, resume, cb),
  };
  methods.set(name, def as unknown as MethodDef);
}

export function getMethod(name: string): MethodDef {
  const m = methods.get(name);
  if (!m) throw new Error(`unknown method '${name}' (known: ${[...methods.keys()].join(', ')})`);
  return m;
}

export function listMethods(): string[] { return [...methods.keys()]; }

/** Check a method config against the method's ranges; throws one line naming field, value and range. */
export function checkMethodConfig(name: string, cfg: Record<string, unknown>): void {
  const m = getMethod(name);
  checkRanges(cfg, m.defaultConfig(), m.configRanges, `method ${name} config`);
}

// --- config ranges ---

/** Ranges every chunked (offline) method shares. */
const CHUNK_RANGES: Ranges = {
  obsHorizon: { min: 1, max: 64, int: true },
  predHorizon: { min: 1, max: 256, int: true },
  actionHorizon: { min: 1, max: 256, int: true },
  emaDecay: { min: 0, max: 0.99999 },
};
const LAYER = { min: 1, max: 4096, int: true } as const;
const DEPTH = { min: 1, max: 32, int: true } as const;
const EMB = { min: 2, max: 1024, int: true } as const;
const INFER_STEPS = { min: 1, max: 1000, int: true } as const;

const BC_RANGES: Ranges = { ...CHUNK_RANGES, 'hidden[]': LAYER, 'hidden#len': { min: 1, max: 16 } };
const DIFFUSION_RANGES: Ranges = {
  ...CHUNK_RANGES, trainSteps: { min: 2, max: 10_000, int: true }, inferSteps: INFER_STEPS, clipSample: { min: 0, max: 100 },
  embDim: EMB, width: LAYER, depth: DEPTH,
};
const BESO_RANGES: Ranges = {
  ...CHUNK_RANGES, 'goalDims[]': { min: 0, max: 4096, int: true }, sigmaData: { min: 1e-4, max: 100 }, sigmaMin: { min: 1e-6, max: 100 },
  sigmaMax: { min: 1e-4, max: 10_000 }, sigmaScale: { min: 1e-4, max: 100 }, inferSteps: INFER_STEPS, guidance: { min: 0, max: 100 },
  goalMaskProb: { min: 0, max: 1 }, goalHorizonMin: { min: 1, max: 100_000, int: true }, goalHorizonMax: { min: 1, max: 100_000, int: true },
  embDim: EMB, noiseEmbScale: { min: 1e-3, max: 1e6 }, width: LAYER, depth: DEPTH,
};
const FDP_RANGES: Ranges = {
  ...CHUNK_RANGES, trainSteps: { min: 2, max: 10_000, int: true }, inferSteps: INFER_STEPS, clipSample: { min: 0, max: 100 }, clipResidual: { min: 0, max: 1e6 },
  embDim: EMB, width: LAYER, depth: DEPTH, resWidth: LAYER, depthFeatures: LAYER,
};
const PPO_RANGES: Ranges = {
  'hidden[]': LAYER, 'hidden#len': { min: 1, max: 16 }, initLogStd: { min: -10, max: 2 }, numEnvs: { min: 1, max: 256, int: true },
  rolloutSteps: { min: 1, max: 100_000, int: true }, epochs: { min: 1, max: 100, int: true }, minibatches: { min: 1, max: 4096, int: true },
  gamma: { min: 0, max: 1 }, lambda: { min: 0, max: 1 }, clip: { min: 0, max: 10 }, entCoef: { min: 0, max: 10 }, vfCoef: { min: 0, max: 100 },
  obsClip: { min: 0.01, max: 1e6 },
};

registerMethod<BcConfig>('bc', { defaultConfig: () => ({ ...defaultBcConfig() }), configRanges: BC_RANGES, create: (s, seed) => new BcPolicy(s, seed) });
registerMethod<DiffusionConfig>('diffusion', { defaultConfig: () => ({ ...defaultDiffusionConfig() }), configRanges: DIFFUSION_RANGES, create: (s, seed) => new DiffusionPolicy(s, seed) });
registerMethod<BesoConfig>('beso', { defaultConfig: () => ({ ...defaultBesoConfig() }), configRanges: BESO_RANGES, create: (s, seed) => new BesoPolicy(s, seed), batcher: (ds, s, seed) => besoBatcher(ds, s, seed) });
registerMethod<FdpConfig>('fdp', { defaultConfig: () => ({ ...defaultFdpConfig() }), configRanges: FDP_RANGES, create: (s, seed) => new FdpPolicy(s, seed), completeConfig: fdpObsKeys });
registerMethod<PpoConfig>('ppo', { defaultConfig: () => ({ ...defaultPpoConfig() }), configRanges: PPO_RANGES, create: (s, seed) => new PpoPolicy(s, seed), stages: { online: PPO_STAGE } });
