/**
 * Evaluation: roll a Policy out in a scene for N episodes (episode i seeded seed + i), success rate with a 95%
 * Wilson interval, mean return/length and episode-mean metrics. Optional MCAP recording through sim/data.
 */
import { EpisodeTally, makeEnv, type SceneEnv, type EpisodeSummary } from '../../sim/core/index.ts';
import { ACTION, featureSize } from '../../sim/core/features.ts';
import type { Policy } from '../common/policy.ts';
import { wilson } from '../../sim/math/stats.ts';

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
}

/** One episode with an async policy (same counting as sim/core's runEpisode). */
export async function runPolicyEpisode(env: SceneEnv, policy: Policy, seed: number, hooks: { onReset?(o: unknown): void; onStep?(t: number, a: Float32Array, r: ReturnType<SceneEnv['step']>): void } = {}): Promise<EpisodeSummary> {
  let { obs } = env.reset({ seed });
  policy.reset();
  hooks.onReset?.(obs);
  const tally = new EpisodeTally();
  for (;;) {
    const t = tally.length;
    const a = await policy.act(obs);
    const r = env.step(a);
    hooks.onStep?.(t, a, r);
    obs = r.obs;
    if (tally.add(r)) break;
  }
  return tally.summary(env, seed);
}

export async function evaluate(policy: Policy, opts: EvalOptions): Promise<EvalResult> {
  const baseEnv = makeEnv(opts.sceneId, opts.overrides ?? {});
  const env = opts.wrapEnv?.(baseEnv) ?? baseEnv;
  const aspec = env.actionFeatures[ACTION];
  const pspec = policy.outputFeatures[ACTION];
  if (!aspec || !pspec || featureSize(aspec) !== featureSize(pspec)) {
    env.dispose();
    throw new Error(`policy ${policy.name} outputs ${pspec ? featureSize(pspec) : '?'} actions, scene ${opts.sceneId} expects ${aspec ? featureSize(aspec) : '?'}`);
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
      const ep = await runPolicyEpisode(env, policy, seed, recorder?.episodeHooks(seed) ?? {});
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
}

/**
 * Vectorised evaluation through sim/vec: rounds of `numEnvs` envs (autoreset disabled), env i of round r seeded
 * seed + r·numEnvs + i — the same episode seeds as `evaluate`. Needs a policy with actBatch (every built-in method).
 * Per-episode metrics are the last step's scene metrics (sim/vec does not sum reward terms).
 */
export async function evaluateVec(policy: Policy & { resetBatch?(rows: number): void; actBatch?(obs: Readonly<Record<string, import('../../sim/core/features.ts').FeatureArray>>, rows: number, active?: Uint8Array): Float32Array }, opts: VecEvalOptions): Promise<EvalResult> {
  if (!policy.actBatch || !policy.resetBatch) throw new Error(`policy ${policy.name} has no actBatch (use sequential evaluation)`);
  const { SyncVecEnv, WorkerVecEnv } = await import('../../sim/vec/index.ts');
  const N = Math.max(1, Math.min(opts.numEnvs, opts.episodes));
  const venv = (opts.workers ?? 1) > 1
    ? await WorkerVecEnv.create({ sceneId: opts.sceneId, overrides: opts.overrides ?? {}, numEnvs: N, numWorkers: opts.workers, autoresetMode: 'disabled' })
    : new SyncVecEnv({ sceneId: opts.sceneId, overrides: opts.overrides ?? {}, numEnvs: N, autoresetMode: 'disabled' });
  const eps: EvalResult['perEpisode'] = [];
  const metricsSum: Record<string, number> = {};
  try {
    const aspec = venv.actionFeatures[ACTION], pspec = policy.outputFeatures[ACTION];
    if (!aspec || !pspec || featureSize(aspec) !== featureSize(pspec)) throw new Error(`policy ${policy.name} outputs ${pspec ? featureSize(pspec) : '?'} actions, scene ${opts.sceneId} expects ${aspec ? featureSize(aspec) : '?'}`);
    for (let r = 0; eps.length < opts.episodes; r++) {
      const want = Math.min(N, opts.episodes - eps.length);
      let { obs } = await venv.reset(opts.seed + r * N);
      policy.resetBatch(N);
      const active = new Uint8Array(N).fill(1);
      const got: (EvalResult['perEpisode'][number] & { metrics: Record<string, number> })[] = [];
      while (active.some((a) => a)) {
        const a = policy.actBatch(obs, N, active);
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
