/**
 * A trained run as a synchronous action source for sim/core's runEpisode (`stride rollout --policy RUNDIR`,
 * `stride view`). Loading is synchronous; without `initBackend` TensorFlow.js uses its default backend.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ActionSource, SceneEnv } from '../../sim/core/index.ts';
import * as tf from '@tensorflow/tfjs';
import { loadPolicy } from './load.ts';

/** True when `dir` looks like a run folder (has `latest`) or a checkpoint folder (has manifest.json). */
export function isRunDir(dir: string): boolean {
  return existsSync(path.join(dir, 'latest')) || existsSync(path.join(dir, 'manifest.json'));
}

/** Load the run's latest checkpoint once; each episode resets the policy and seeds its noise with the episode seed. */
export function runDirPolicy(dir: string): (env: SceneEnv) => ActionSource {
  tf.env().set('PROD', true); // no "install tfjs-node" banner from the default cpu backend
  const policy = loadPolicy(dir);
  return (env) => {
    policy.reset();
    policy.seedNoise(env.episodeSeed);
    return (obs) => policy.actSync(obs);
  };
}
