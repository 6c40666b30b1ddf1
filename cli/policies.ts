/**
 * Built-in action sources for `rollout`/`demos`/`view`: random, zero, expert. Trained runs join in the policy core.
 */
import { Rng } from '../sim/math/rng.ts';
import { ACTION, featureSize, type ActionSource, type SceneEnv } from '../sim/core/index.ts';
import { CliError } from './util.ts';
import { isRunDir, runDirPolicy } from '../policies/train/action_source.ts';

export const BUILTIN_POLICIES = ['random', 'zero', 'expert'] as const;

/** Built-in policy by name; 'random' draws from an RNG seeded by each episode's seed, so episodes are reproducible alone. */
export function builtinPolicy(name: string): (env: SceneEnv) => ActionSource {
  switch (name) {
    case 'zero':
      return (env) => { const a = new Float32Array(featureSize(env.actionFeatures[ACTION]!)); return () => a; };
    case 'random':
      return (env) => {
        const rng = new Rng(env.episodeSeed ^ 0x9e37);
        const spec = env.actionFeatures[ACTION]!;
        const n = featureSize(spec), lo = spec.low ?? -1, hi = spec.high ?? 1;
        return () => Float32Array.from({ length: n }, () => rng.uniform(lo, hi));
      };
    case 'expert':
      return (env) => {
        if (!env.hasExpert) throw new CliError(`scene ${env.id} has no scripted expert`);
        const ex = env.expert();
        return () => ex.act();
      };
    default:
      if (isRunDir(name)) return runDirPolicy(name);
      throw new CliError(`unknown policy '${name}' (built-in: ${BUILTIN_POLICIES.join(', ')}; or a run directory once training exists)`);
  }
}
