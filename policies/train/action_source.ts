/**
 * Policies by name as synchronous action sources for sim/core's runEpisode (`stride rollout --policy NAME|RUNDIR`,
 * `stride view`): a built-in (random, zero, expert — sim/core/policy.ts) or a trained run/checkpoint directory.
 * TensorFlow.js and the checkpoint loader are imported only when a run directory is asked for, so importing this
 * module (and every command that only uses built-ins) stays free of TensorFlow.js. Loading a run is synchronous once
 * those modules are in; without `initBackend` TensorFlow.js uses its default backend.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { builtinPolicy, isBuiltinPolicy, type ActionSource } from '../../sim/core/policy.ts';
import { checkPolicyFits } from '../../sim/core/features.ts';
import type { SceneEnv } from '../../sim/core/scene_env.ts';

/** True when `dir` looks like a run folder (has `latest`) or a checkpoint folder (has manifest.json). */
export function isRunDir(dir: string): boolean {
  return existsSync(path.join(dir, 'latest')) || existsSync(path.join(dir, 'manifest.json'));
}

/** A built-in policy or a trained run/checkpoint directory; an unknown name throws the built-ins' one-line error. */
export async function policyByName(name: string): Promise<(env: SceneEnv) => ActionSource> {
  if (isBuiltinPolicy(name) || !isRunDir(name)) return builtinPolicy(name);
  return runDirPolicy(name);
}

/** Load the run's latest checkpoint once; each episode resets the policy and seeds its noise with the episode seed. */
export async function runDirPolicy(dir: string): Promise<(env: SceneEnv) => ActionSource> {
  const tf = await import('@tensorflow/tfjs');
  tf.env().set('PROD', true); // no "install tfjs-node" banner from the default cpu backend
  const { loadPolicy } = await import('./load.ts');
  const policy = loadPolicy(dir);
  const fitted = new WeakSet<SceneEnv>();
  return (env) => {
    // Before the first step in each env: a checkpoint from another scene is one line naming the mismatch, not garbage inputs.
    if (!fitted.has(env)) { checkPolicyFits({ ...policyFeatures(policy), trainedOn: policy.manifest.sceneId }, env); fitted.add(env); }
    policy.reset();
    policy.seedNoise(env.episodeSeed);
    return (obs) => policy.actSync(obs);
  };
}

function policyFeatures(p: { name: string; inputFeatures: import('../../sim/core/features.ts').Features; outputFeatures: import('../../sim/core/features.ts').Features }) {
  return { name: p.name, inputFeatures: p.inputFeatures, outputFeatures: p.outputFeatures };
}
