/**
 * Run one episode of an env with a synchronous action source. Shared by `stride rollout`, `stride demos`, the
 * recorder and evaluation, so every tool counts returns, lengths and success the same way.
 */
import type { Observation } from './features.ts';
import type { StepResult } from './env.ts';
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

export type ActionSource = (obs: Observation, t: number) => Float32Array;

export interface EpisodeHooks {
  /** After reset, before the first step. */
  onReset?(obs: Observation): void;
  /** After each step, with the action that was taken. */
  onStep?(t: number, action: Float32Array, r: StepResult): void;
}

/**
 * Reset with `seed`, then step until terminated/truncated. `policy` is called once after the reset (so an expert can
 * bind to the fresh episode) and returns the per-step action source.
 */
export function runEpisode(env: SceneEnv, seed: number, policy: (env: SceneEnv) => ActionSource, hooks: EpisodeHooks = {}, options?: Record<string, unknown>): EpisodeSummary {
  let { obs } = env.reset({ seed, options });
  const act = policy(env);
  hooks.onReset?.(obs);
  let ret = 0, t = 0, success = false, reason = 'time-limit';
  const sums: Record<string, number> = {};
  let last: Record<string, number> = {};
  for (;;) {
    const a = act(obs, t);
    const r = env.step(a);
    hooks.onStep?.(t, a, r);
    t++;
    ret += r.reward;
    for (const [k, v] of Object.entries(r.metrics)) {
      if (k.startsWith('reward/')) sums[k] = (sums[k] ?? 0) + v;
    }
    last = r.metrics as Record<string, number>;
    if (r.metrics.success) success = true;
    obs = r.obs;
    if (r.terminated || r.truncated) { reason = String(r.info.reason ?? reason); break; }
  }
  const metrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(last)) if (!k.startsWith('reward/') && k !== 'success') metrics[k] = v;
  Object.assign(metrics, sums);
  return { seed, return: ret, length: t, success, metrics, reason, finalStateHash: env.stateHash() };
}

