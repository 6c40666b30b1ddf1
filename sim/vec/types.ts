/**
 * Vectorised environments: N envs stepped together, leading dimension = numEnvs, explicit autoreset mode.
 *
 * Autoreset modes (Gymnasium 1.x names):
 * - 'next-step' (default): when env i ends at step t, the results of t are returned as they are; on the next
 *   `step()` env i ignores its action, resets (seed of its next episode) and returns the reset observation with
 *   reward 0 and both flags false.
 * - 'same-step': env i resets inside the step that ended it; `obs` holds the reset observation and `finalObs[i]` the
 *   terminal one.
 * - 'disabled': an ended env is not stepped again until `reset()`; it keeps returning its last observation with
 *   reward 0 and its end flags.
 * Seeds: `reset(seed)` seeds env i with seed + i; its k-th later episode uses seed + i + k·numEnvs.
 */
import type { FeatureArray, Features } from '../core/features.ts';

export type AutoresetMode = 'next-step' | 'same-step' | 'disabled';

/** One array per feature key, numEnvs × feature size, row i = env i. */
export type BatchObservation = Record<string, FeatureArray>;

export interface FinishedEpisode {
  env: number;
  seed: number;
  return: number;
  length: number;
  success: boolean;
  reason: string;
  /** Last step's non-reward metrics (e.g. scene figures reported at episode end). */
  metrics: Record<string, number>;
}

export interface VecStepResult {
  obs: BatchObservation;
  rewards: Float32Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  /** 'same-step' mode only: terminal observation of each env that ended this step, else null. */
  finalObs: (Record<string, FeatureArray> | null)[];
  /** Episodes that ended in this step. */
  episodes: FinishedEpisode[];
}

export interface VecEnv {
  readonly numEnvs: number;
  readonly autoresetMode: AutoresetMode;
  readonly observationFeatures: Features;
  readonly actionFeatures: Features;
  readonly actionSize: number;
  reset(seed: number): Promise<{ obs: BatchObservation }>;
  step(actions: Float32Array): Promise<VecStepResult>;
  close(): Promise<void>;
}

export interface VecEnvOptions {
  sceneId: string;
  /** Dotted-path config overrides applied to every env. */
  overrides?: Record<string, unknown>;
  numEnvs: number;
  autoresetMode?: AutoresetMode;
}
