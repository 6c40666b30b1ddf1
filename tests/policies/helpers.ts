/** Test helpers: expert demos written through sim/data's dataset writer, a tmp folder. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ACTION, makeEnv, runEpisode, type FeatureArray, type Features } from '../../sim/core/index.ts';
import { initPhysics } from '../../sim/physics/index.ts';
import { writeDataset } from '../../sim/data/dataset.ts';

export function tmp(prefix = 'stride-pol-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export async function loadScenesForTest(): Promise<void> {
  await initPhysics();
  await import('../../scenes/index.ts');
}

/** Run the scene expert for `episodes` episodes (seed + i) and write a dataset at `dir` (scene config `overrides`). */
export function writeExpertDemos(dir: string, sceneId: string, episodes: number, seed: number, overrides: Record<string, unknown> = {}): void {
  const env = makeEnv(sceneId, overrides);
  try {
    const features: Features = { ...env.observationFeatures, ...env.actionFeatures };
    const eps = [];
    for (let i = 0; i < episodes; i++) {
      const frames: Record<string, FeatureArray[]> = Object.fromEntries(Object.keys(features).map((k) => [k, []]));
      const ep = runEpisode(env, seed + i, (e) => {
        const ex = e.expert();
        return (obs) => {
          for (const k of Object.keys(env.observationFeatures)) frames[k]!.push(obs[k]!.slice());
          const a = ex.act();
          frames[ACTION]!.push(Float32Array.from(a, (v) => Math.max(-1, Math.min(1, v))));
          return a;
        };
      });
      eps.push({ seed: seed + i, success: ep.success, frames });
    }
    writeDataset(dir, { sceneId, fps: 1 / env.ctrlDtSec, features, episodes: eps });
  } finally {
    env.dispose();
  }
}
