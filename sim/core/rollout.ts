/**
 * Run one episode of an env with a synchronous action source. Shared by `stride rollout`, `stride demos`, the
 * recorder and evaluation, so every tool counts returns, lengths and success the same way.
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

  get length(): number { return this.t; }

  summary(env: SceneEnv, seed: number): EpisodeSummary {
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.last)) if (!k.startsWith('reward/') && k !== 'success') metrics[k] = v;
    Object.assign(metrics, this.sums);
    return { seed, return: this.ret, length: this.t, success: this.success, metrics, reason: this.reason, finalStateHash: env.stateHash() };
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
