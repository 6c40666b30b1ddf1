/**
 * Shared pieces of the bridge tests: scenes loaded once, an observation-only PD policy for toy/point_reach (the
 * scene's scripted expert computed from observation.state instead of privileged state), and an in-process evaluator
 * of an async policy.
 */
import { initPhysics } from '../../sim/physics/index.ts';
import { ACTION, OBS_STATE, makeEnv, type Features, type Observation } from '../../sim/core/index.ts';
import type { BridgePolicy } from '../../sim/bridge/real_env.ts';

export async function loadScenes(): Promise<void> {
  await initPhysics();
  await import('../../scenes/index.ts');
}

/** point_reach's expert from observation.state: force = 3·(goal − x) − 0.8·v, clipped to [-1, 1]. */
export function pdPolicy(features: { observation: Features; action: Features }, gain = 1): BridgePolicy & { calls: number } {
  const p = {
    name: 'pd-from-obs',
    inputFeatures: { [OBS_STATE]: features.observation[OBS_STATE]! },
    outputFeatures: { [ACTION]: features.action[ACTION]! },
    calls: 0,
    reset() {},
    async act(obs: Observation) {
      p.calls++;
      const s = obs[OBS_STATE]!;
      const fx = gain * (3 * s[4]! - 0.8 * s[2]!), fz = gain * (3 * s[5]! - 0.8 * s[3]!);
      return Float32Array.of(Math.max(-1, Math.min(1, fx)), Math.max(-1, Math.min(1, fz)));
    },
  };
  return p;
}

/** In-process evaluation of an async policy: one episode per seed, success if the task succeeded at any step. */
export async function evalInProcess(sceneId: string, overrides: Record<string, unknown>, policy: BridgePolicy, seeds: number[]): Promise<boolean[]> {
  const env = makeEnv(sceneId, overrides);
  const out: boolean[] = [];
  try {
    for (const seed of seeds) {
      policy.reset();
      let { obs } = env.reset({ seed });
      let success = false;
      for (;;) {
        const r = env.step(await policy.act(obs));
        if (r.metrics.success) success = true;
        obs = r.obs;
        if (r.terminated || r.truncated) break;
      }
      out.push(success);
    }
  } finally {
    env.dispose();
  }
  return out;
}
