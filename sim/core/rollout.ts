/**
 * The episode loop and its bookkeeping, once for every tool (`stride rollout`, `stride demos`, the recorder,
 * evaluation, the viewer's live sessions), so all of them count returns, lengths, success and metrics the same way:
 * - `runEpisode` — synchronous action source (built-in policies, scripted experts);
 * - `runEpisodeAsync` — an async actor (a `Policy`: reset once per episode, `await act(obs)` per step) or a factory of
 *   an async action source; same order of reset / hooks / steps as `runEpisode`;
 * - `EpisodeTally` — the per-step bookkeeping, for loops that step an episode themselves (the viewer's timer-driven
 *   live session).
 */
import type { Observation } from './features.ts';
import type { StepResult } from './env.ts';
import type { ActionSource } from './policy.ts';
import type { SceneEnv } from './scene_env.ts';

export interface EpisodeSummary {
  seed: number;
  return: number;
  length: number;
  /** 1 if the task succeeded at any step of the episode. */
  success: boolean;
  /** Episode sums of 'reward/<term>' and the last step's other metrics. */
  metrics: Record<string, number>;
  /** Why the episode ended ('success', 'time-limit', 'physics-diverged', or the scene's reason). */
  reason: string;
  /** sha256 of the final snapshot. */
  finalStateHash: string;
}

export type { ActionSource } from './policy.ts';

export interface EpisodeHooks {
  /** After reset, before the first step. */
  onReset?(obs: Observation): void;
  /** After each step, with the action that was taken. */
  onStep?(t: number, action: Float32Array, r: StepResult): void;
}

/**
 * Episode bookkeeping shared by every loop that runs episodes (sync `runEpisode`, async policy evaluation, the viewer):
 * return, length, success-at-any-step, summed 'reward/<term>' and the last step's other metrics, the end reason.
 */
export class EpisodeTally {
  private ret = 0;
  private t = 0;
  private success = false;
  private reason = 'time-limit';
  private readonly sums: Record<string, number> = {};
  private last: Readonly<Record<string, number>> = {};

  /** Count one step; returns true when the episode ended. */
  add(r: StepResult): boolean {
    this.t++;
    this.ret += r.reward;
    for (const k in r.metrics) if (k.startsWith('reward/')) this.sums[k] = (this.sums[k] ?? 0) + r.metrics[k]!;
    this.last = r.metrics;
    if (r.metrics.success) this.success = true;
    const done = r.terminated || r.truncated;
    if (done) this.reason = String(r.info.reason ?? this.reason);
    return done;
  }

  /** Steps counted so far. */
  get length(): number { return this.t; }

  /**
   * The episode so far as an EpisodeSummary. `reason` replaces the end reason (e.g. 'stopped' for an episode cut off
   * by the user); by default it is the last step's `info.reason`, or 'time-limit'.
   */
  summary(env: SceneEnv, seed: number, reason?: string): EpisodeSummary {
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.last)) if (!k.startsWith('reward/') && k !== 'success') metrics[k] = v;
    Object.assign(metrics, this.sums);
    return { seed, return: this.ret, length: this.t, success: this.success, metrics, reason: reason ?? this.reason, finalStateHash: env.stateHash() };
  }
}

/**
 * Reset with `seed`, then step until terminated/truncated. `policy` is called once after the reset (so an expert can
 * bind to the fresh episode) and returns the per-step action source.
 */
export function runEpisode(env: SceneEnv, seed: number, policy: (env: SceneEnv) => ActionSource, hooks: EpisodeHooks = {}, options?: Record<string, unknown>): EpisodeSummary {
  let { obs } = env.reset({ seed, options });
  const act = policy(env);
  hooks.onReset?.(obs);
  const tally = new EpisodeTally();
  for (;;) {
    const t = tally.length;
    const a = act(obs, t);
    const r = env.step(a);
    hooks.onStep?.(t, a, r);
    obs = r.obs;
    if (tally.add(r)) break;
  }
  return tally.summary(env, seed);
}

/** An asynchronous actor over episodes — what `runEpisodeAsync` needs of a `Policy` (sim/core/policy.ts). */
export interface AsyncActor {
  /** Clear history at the episode start (called once, after the env reset). */
  reset(): void;
  /** The action for an observation. */
  act(obs: Observation): Promise<Float32Array>;
}

/** An asynchronous action source: the action at control step t. */
export type AsyncActionSource = (obs: Observation, t: number) => Promise<Float32Array> | Float32Array;

/**
 * `runEpisode` for asynchronous policies: reset with `seed`, then (an actor) `policy.reset()` or (a factory)
 * `policy(env)` once, `hooks.onReset`, then `await act` / step until terminated or truncated.
 */
export async function runEpisodeAsync(env: SceneEnv, seed: number, policy: AsyncActor | ((env: SceneEnv) => AsyncActionSource), hooks: EpisodeHooks = {}, options?: Record<string, unknown>): Promise<EpisodeSummary> {
  let { obs } = env.reset({ seed, options });
  let act: AsyncActionSource;
  if (typeof policy === 'function') act = policy(env);
  else {
    policy.reset();
    act = (o) => policy.act(o);
  }
  hooks.onReset?.(obs);
  const tally = new EpisodeTally();
  for (;;) {
    const t = tally.length;
    const a = await act(obs, t);
    const r = env.step(a);
    hooks.onStep?.(t, a, r);
    obs = r.obs;
    if (tally.add(r)) break;
  }
  return tally.summary(env, seed);
}
