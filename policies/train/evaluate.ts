/**
 * Evaluation: roll a Policy out in a scene for N episodes (episode i seeded seed + i), success rate with a 95%
 * Wilson interval, mean return/length and episode-mean metrics. Optional MCAP recording through sim/data.
 * `evaluateEpisodes` is the studies' evaluator: given starts, lock-step batched, per-episode act options from a hook.
 */
import { EpisodeTally, makeEnv, type SceneEnv, type EpisodeSummary, type StepResult } from '../../sim/core/index.ts';
import { ACTION, checkPolicyFits, featureSize, type Observation } from '../../sim/core/features.ts';
import type { ActOptions, Policy } from '../common/policy.ts';
import { wilson } from '../../sim/math/stats.ts';
import { runEpisodeAsync } from '../../sim/core/rollout.ts';

export interface EvalResult {
  episodes: number;
  successRate: number;
  ci95: [number, number];
  returnMean: number;
  lengthMean: number;
  metrics: Record<string, number>;
  perEpisode: { seed: number; return: number; length: number; success: boolean; reason: string }[];
}

/** Wilson score interval: one home in sim/math/stats.ts, re-exported for the code that imports it from here. */
export { wilson };

export interface EvalOptions {
  sceneId: string;
  overrides?: Record<string, unknown>;
  episodes: number;
  seed: number;
  /** MCAP file to record every episode to. */
  record?: string;
  recordMeta?: { policy: string; command: string };
  /** Called with each finished episode. */
  onEpisode?(ep: EpisodeSummary, i: number): void;
  /** Wrap the env before rolling out (e.g. sim/bridge's withLatency, replaying measured robot latency). */
  wrapEnv?(env: SceneEnv): SceneEnv;
  /** Act options of one episode (goal, intent, guidance, steps) from its seed and first observation. */
  actOptions?(seed: number, obs: Observation): ActOptions;
}

/** `policy` acting with the options `actOptions` gives for this episode (asked once, at its first observation). */
function withActOptions(policy: Policy, seed: number, actOptions?: (seed: number, obs: Observation) => ActOptions): Policy | { reset(): void; act(o: Observation): Promise<Float32Array> } {
  if (!actOptions) return policy;
  let opts: ActOptions | null = null;
  return { reset: () => { policy.reset(); opts = null; }, act: (o: Observation) => policy.act(o, (opts ??= actOptions(seed, o))) };
}

/** The scene a loaded checkpoint was trained on (its manifest's sceneId), for mismatch messages. */
function trainedOn(policy: Policy): string | undefined {
  return (policy as { manifest?: { sceneId?: string } }).manifest?.sceneId;
}

function policyFeatures(policy: Policy): { name: string; inputFeatures: Policy['inputFeatures']; outputFeatures: Policy['outputFeatures'] } {
  return { name: policy.name, inputFeatures: policy.inputFeatures, outputFeatures: policy.outputFeatures };
}

export async function evaluate(policy: Policy, opts: EvalOptions): Promise<EvalResult> {
  const baseEnv = makeEnv(opts.sceneId, opts.overrides ?? {});
  const env = opts.wrapEnv?.(baseEnv) ?? baseEnv;
  try {
    checkPolicyFits({ ...policyFeatures(policy), trainedOn: trainedOn(policy) }, { id: opts.sceneId, observationFeatures: env.observationFeatures, actionFeatures: env.actionFeatures });
  } catch (e) {
    env.dispose();
    throw e;
  }
  let recorder: Awaited<ReturnType<typeof import('../../sim/data/recorder.ts')['EpisodeRecorder']['create']>> | null = null;
  if (opts.record) {
    const { EpisodeRecorder } = await import('../../sim/data/recorder.ts');
    recorder = await EpisodeRecorder.create(opts.record, env, { policy: opts.recordMeta?.policy ?? policy.name, overrides: opts.overrides, command: opts.recordMeta?.command });
  }
  const eps: EpisodeSummary[] = [];
  try {
    for (let i = 0; i < opts.episodes; i++) {
      const seed = opts.seed + i;
      const ep = await runEpisodeAsync(env, seed, withActOptions(policy, seed, opts.actOptions), recorder?.episodeHooks(seed) ?? {});
      recorder?.endEpisode(ep);
      eps.push(ep);
      opts.onEpisode?.(ep, i);
      await new Promise((r) => setImmediate(r));
    }
    await recorder?.close();
  } catch (e) {
    await recorder?.abort();
    throw e;
  } finally {
    env.dispose();
  }
  const n = eps.length, k = eps.filter((e) => e.success).length;
  const metrics: Record<string, number> = {};
  for (const e of eps) for (const [m, v] of Object.entries(e.metrics)) metrics[m] = (metrics[m] ?? 0) + v / n;
  return {
    episodes: n, successRate: k / n, ci95: wilson(k, n),
    returnMean: eps.reduce((a, e) => a + e.return, 0) / n, lengthMean: eps.reduce((a, e) => a + e.length, 0) / n,
    metrics, perEpisode: eps.map((e) => ({ seed: e.seed, return: e.return, length: e.length, success: e.success, reason: e.reason })),
  };
}

export interface VecEvalOptions {
  sceneId: string;
  overrides?: Record<string, unknown>;
  episodes: number;
  seed: number;
  /** Envs stepped together (one batched policy call per step). */
  numEnvs: number;
  /** >1: WorkerVecEnv with this many worker threads; else SyncVecEnv. */
  workers?: number;
  onEpisode?(ep: { seed: number; return: number; length: number; success: boolean; reason: string }, i: number): void;
  /** Act options of one episode from its seed and first observation: goals stacked by row, other fields shared. */
  actOptions?(seed: number, obs: Observation): ActOptions;
}

/**
 * Vectorised evaluation through sim/vec: rounds of `numEnvs` envs (autoreset disabled), env i of round r seeded
 * seed + r·numEnvs + i — the same episode seeds as `evaluate`. Needs a policy with actBatch (every built-in method).
 * Per-episode metrics are the last step's scene metrics (sim/vec does not sum reward terms).
 */
export async function evaluateVec(policy: Policy & { resetBatch?(rows: number): void; actBatch?(obs: Readonly<Record<string, import('../../sim/core/features.ts').FeatureArray>>, rows: number, active?: Uint8Array, opts?: ActOptions): Float32Array }, opts: VecEvalOptions): Promise<EvalResult> {
  if (!policy.actBatch || !policy.resetBatch) throw new Error(`policy ${policy.name} has no actBatch (use sequential evaluation)`);
  const { SyncVecEnv, WorkerVecEnv } = await import('../../sim/vec/index.ts');
  const N = Math.max(1, Math.min(opts.numEnvs, opts.episodes));
  const venv = (opts.workers ?? 1) > 1
    ? await WorkerVecEnv.create({ sceneId: opts.sceneId, overrides: opts.overrides ?? {}, numEnvs: N, numWorkers: opts.workers, autoresetMode: 'disabled' })
    : new SyncVecEnv({ sceneId: opts.sceneId, overrides: opts.overrides ?? {}, numEnvs: N, autoresetMode: 'disabled' });
  const eps: EvalResult['perEpisode'] = [];
  const metricsSum: Record<string, number> = {};
  try {
    checkPolicyFits({ ...policyFeatures(policy), trainedOn: trainedOn(policy) }, { id: opts.sceneId, observationFeatures: venv.observationFeatures, actionFeatures: venv.actionFeatures });
    for (let r = 0; eps.length < opts.episodes; r++) {
      const want = Math.min(N, opts.episodes - eps.length);
      let { obs } = await venv.reset(opts.seed + r * N);
      policy.resetBatch(N);
      const active = new Uint8Array(N).fill(1);
      const rowOpts = opts.actOptions ? batchOptions(Array.from({ length: N }, (_, i) => opts.actOptions!(opts.seed + r * N + i, rowOf(obs, i, N)))) : {};
      const got: (EvalResult['perEpisode'][number] & { metrics: Record<string, number> })[] = [];
      while (active.some((a) => a)) {
        const a = policy.actBatch(obs, N, active, rowOpts);
        const res = await venv.step(a);
        for (const e of res.episodes) {
          active[e.env] = 0;
          got[e.env] = { seed: e.seed, return: e.return, length: e.length, success: e.success, reason: e.reason, metrics: e.metrics };
        }
        obs = res.obs;
      }
      for (let i = 0; i < want; i++) {
        const e = got[i]!;
        const { metrics, ...rest } = e;
        eps.push(rest);
        for (const [k, v] of Object.entries(metrics)) metricsSum[k] = (metricsSum[k] ?? 0) + v;
        opts.onEpisode?.(rest, eps.length - 1);
      }
      await new Promise((res) => setImmediate(res));
    }
  } finally {
    await venv.close();
  }
  const n = eps.length, k = eps.filter((e) => e.success).length;
  const metrics: Record<string, number> = {};
  for (const [m, v] of Object.entries(metricsSum)) metrics[m] = v / n;
  return {
    episodes: n, successRate: k / n, ci95: wilson(k, n), returnMean: eps.reduce((a, e) => a + e.return, 0) / n,
    lengthMean: eps.reduce((a, e) => a + e.length, 0) / n, metrics, perEpisode: eps,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// lock-step evaluation on given starts, with per-episode act options (the studies' evaluator)
// ---------------------------------------------------------------------------------------------------------------

/** What `evaluateEpisodes` needs of a policy: batched acting (every built-in method has it). */
export interface BatchActor {
  readonly name: string;
  resetBatch?(rows: number): void;
  actBatch?(obs: Readonly<Record<string, import('../../sim/core/features.ts').FeatureArray>>, rows: number, active?: Uint8Array, opts?: ActOptions): Float32Array;
  seedNoise?(seed: number): void;
}

export interface EpisodeEvalOptions {
  sceneId: string;
  /** Scene config overrides of every episode. */
  overrides?: Record<string, unknown>;
  /** One episode per seed, in this order (a study's held-out or validation starts). */
  seeds: readonly number[];
  /** Episodes stepped together, one batched policy call per control step (default: all of them). */
  batch?: number;
  /** Seed of the policy's own sampling noise, set once before the first episode (diffusion methods). */
  noiseSeed?: number;
  /**
   * Act options of one episode from its seed and first observation (goal, intent, guidance, sampler steps). Within a
   * batch, goals are stacked row by row (every episode gives one of the same length, or none does); every other field
   * must be the same for all episodes of the evaluation.
   */
  actOptions?(seed: number, obs: Observation): ActOptions;
  /** After every step of episode `i` (outcomes beyond the scene's metrics, e.g. which way a probe went). */
  onStep?(i: number, r: StepResult, done: boolean): void;
}

/** One evaluated episode: the shared summary + whether it was cut short by a non-finite policy action. */
export interface EpisodeEval extends EpisodeSummary {
  /** True when the policy emitted a non-finite action: the episode ends there and counts as a failure. */
  nonFinite: boolean;
}

/**
 * Roll `policy` out once per seed, `batch` episodes in lock step (env i reset with seeds[i]), counting every episode
 * with the shared EpisodeTally. A non-finite action ends that episode as a failure (`nonFinite`), never the run.
 */
export function evaluateEpisodes(policy: BatchActor, o: EpisodeEvalOptions): EpisodeEval[] {
  const out: EpisodeEval[] = [];
  const { resetBatch, actBatch } = policy;
  if (!resetBatch || !actBatch) throw new Error(`policy ${policy.name} has no actBatch (batched acting is needed for lock-step evaluation)`);
  if (o.noiseSeed !== undefined) policy.seedNoise?.(o.noiseSeed);
  const B = Math.max(1, o.batch ?? o.seeds.length);
  for (let s0 = 0; s0 < o.seeds.length; s0 += B) {
    const seeds = o.seeds.slice(s0, s0 + B), R = seeds.length;
    const envs = seeds.map(() => makeEnv(o.sceneId, o.overrides ?? {}));
    try {
      const first = envs.map((env, i) => env.reset({ seed: seeds[i]! }).obs);
      const opts = envs.map((_, i) => o.actOptions?.(seeds[i]!, first[i]!) ?? {});
      const shared = batchOptions(opts);
      const keys = Object.keys(first[0]!);
      const size = Object.fromEntries(keys.map((k) => [k, first[0]![k]!.length]));
      const batchObs: Record<string, Float32Array> = Object.fromEntries(keys.map((k) => [k, new Float32Array(R * size[k]!)]));
      const put = (i: number, obs: Observation) => { for (const k of keys) batchObs[k]!.set(obs[k]! as ArrayLike<number>, i * size[k]!); };
      first.forEach((obs, i) => put(i, obs));
      const tallies = envs.map(() => new EpisodeTally());
      const active = new Uint8Array(R).fill(1);
      const nonFinite = new Array<boolean>(R).fill(false);
      resetBatch.call(policy, R);
      const A = featureSize(envs[0]!.actionFeatures[ACTION]!);
      while (active.some((a) => a)) {
        const acts = actBatch.call(policy, batchObs, R, active, shared);
        for (let i = 0; i < R; i++) {
          if (!active[i]) continue;
          const a = acts.subarray(i * A, (i + 1) * A);
          if (!a.every(Number.isFinite)) { nonFinite[i] = true; active[i] = 0; continue; }
          const r = envs[i]!.step(a.slice());
          const done = tallies[i]!.add(r);
          o.onStep?.(s0 + i, r, done);
          if (done) active[i] = 0; else put(i, r.obs);
        }
      }
      envs.forEach((env, i) => out.push({ ...tallies[i]!.summary(env, seeds[i]!), ...(nonFinite[i] ? { success: false, reason: 'non-finite-action' } : {}), nonFinite: nonFinite[i]! }));
    } finally {
      for (const e of envs) e.dispose();
    }
  }
  return out;
}

/** Row i of a batch observation (each key's rows × size array cut to one row). */
function rowOf(obs: Readonly<Record<string, import('../../sim/core/features.ts').FeatureArray>>, i: number, rows: number): Observation {
  return Object.fromEntries(Object.entries(obs).map(([k, v]) => { const n = v.length / rows; return [k, v.subarray(i * n, (i + 1) * n)]; }));
}

/** The batch's act options: goals stacked row by row, every other field shared (refused when episodes disagree). */
function batchOptions(opts: ActOptions[]): ActOptions {
  const { goal: _g, ...rest } = opts[0]!;
  for (const op of opts) {
    const { goal: _, ...r } = op;
    if (JSON.stringify(r) !== JSON.stringify(rest)) throw new Error(`evaluateEpisodes: act options other than the goal must be the same for every episode (${JSON.stringify(rest)} vs ${JSON.stringify(r)})`);
    if (!!op.goal !== !!opts[0]!.goal || (op.goal && op.goal.length !== opts[0]!.goal!.length)) throw new Error('evaluateEpisodes: every episode needs a goal of the same length, or none does');
  }
  if (!opts[0]!.goal) return rest;
  const G = opts[0]!.goal.length, goal = new Float32Array(opts.length * G);
  opts.forEach((op, i) => goal.set(op.goal!, i * G));
  return { ...rest, goal };
}
