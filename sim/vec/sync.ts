/** SyncVecEnv: all envs in the calling thread (for debugging, tests and cheap envs). */
import { ACTION, featureSize, type Features } from '../core/features.ts';
import { makeEnv } from '../core/registry.ts';
import { allocBuffers, VecCore, type VecBuffers } from './core.ts';
import type { AutoresetMode, BatchObservation, VecEnv, VecEnvOptions, VecStepResult } from './types.ts';

/** Features of a scene with overrides (builds and frees one env). */
export function sceneFeatures(sceneId: string, overrides: Record<string, unknown> = {}): { observation: Features; action: Features; actionSize: number } {
  const e = makeEnv(sceneId, overrides);
  try {
    return { observation: e.observationFeatures, action: e.actionFeatures, actionSize: featureSize(e.actionFeatures[ACTION]!) };
  } finally {
    e.dispose();
  }
}

export function checkActions(actions: Float32Array, numEnvs: number, actionSize: number, who: string): void {
  if (!(actions instanceof Float32Array)) throw new Error(`${who}.step: actions must be a Float32Array`);
  if (actions.length !== actionSize * numEnvs) throw new Error(`${who}.step: actions has ${actions.length} elements, expected ${numEnvs} × ${actionSize}`);
}

export class SyncVecEnv implements VecEnv {
  readonly numEnvs: number;
  readonly autoresetMode: AutoresetMode;
  readonly observationFeatures: Features;
  readonly actionFeatures: Features;
  readonly actionSize: number;
  private readonly core: VecCore;
  private readonly buf: VecBuffers;

  constructor(opts: VecEnvOptions) {
    if (!(opts.numEnvs >= 1)) throw new Error(`SyncVecEnv: numEnvs must be ≥ 1, got ${opts.numEnvs}`);
    this.numEnvs = opts.numEnvs;
    this.autoresetMode = opts.autoresetMode ?? 'next-step';
    const f = sceneFeatures(opts.sceneId, opts.overrides);
    this.observationFeatures = f.observation;
    this.actionFeatures = f.action;
    this.actionSize = f.actionSize;
    this.buf = allocBuffers(this.observationFeatures, this.actionSize, this.numEnvs, false);
    this.core = new VecCore(opts.sceneId, opts.overrides ?? {}, this.numEnvs, 0, this.numEnvs, this.autoresetMode, this.buf);
  }

  async reset(seed: number): Promise<{ obs: BatchObservation }> {
    this.core.reset(seed);
    return { obs: this.buf.obs };
  }

  async step(actions: Float32Array): Promise<VecStepResult> {
    checkActions(actions, this.numEnvs, this.actionSize, 'SyncVecEnv');
    this.buf.actions.set(actions);
    const { episodes, finalObs } = this.core.step();
    return { obs: this.buf.obs, rewards: this.buf.rewards, terminated: this.buf.terminated, truncated: this.buf.truncated, finalObs, episodes };
  }

  async close(): Promise<void> {
    this.core.close();
  }
}
