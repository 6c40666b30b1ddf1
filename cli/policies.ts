/**
 * Action sources by name for `rollout`/`demos`/`view`: the built-ins (random, zero, expert) and trained runs.
 * Trained runs load TensorFlow.js, so they are imported only when asked for (start-up of every other command stays fast).
 */
import { Rng } from '../sim/math/rng.ts';
import { ACTION, featureSize, type ActionSource, type SceneEnv } from '../sim/core/index.ts';
import { CliError } from './util.ts';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const BUILTIN_POLICIES = ['random', 'zero', 'expert'] as const;

/** True when `dir` looks like a run folder (has `latest`) or a checkpoint folder (has manifest.json). */
function isRunDir(dir: string): boolean {
  return existsSync(path.join(dir, 'latest')) || existsSync(path.join(dir, 'manifest.json'));
}

/** A built-in policy or a trained run/checkpoint directory. */
export async function policyByName(name: string): Promise<(env: SceneEnv) => ActionSource> {
  if ((BUILTIN_POLICIES as readonly string[]).includes(name) || !isRunDir(name)) return builtinPolicy(name);
  const { runDirPolicy } = await import('../policies/train/action_source.ts');
  return runDirPolicy(name);
}

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
      throw new CliError(`unknown policy '${name}' (built-in: ${BUILTIN_POLICIES.join(', ')}, or a trained run/checkpoint directory)`);
  }
}
