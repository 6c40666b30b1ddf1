/**
 * Offline training by method name: `trainOffline(runDir, cfg, resume)` runs the offline loop (`offline_loop.ts`) for
 * the registered method `cfg.method`, whatever that method's default stage is. Training through the method's stages
 * (what `stride train` does) is `getMethod(cfg.method).train(…)`.
 */
import type { Dataset } from '../../sim/data/dataset.ts';
import type { PolicySpec } from '../common/policy.ts';
import { getMethod } from '../registry.ts';
import { offlineSpec, runOffline } from './offline_loop.ts';
import type { TrainCallbacks, TrainConfig, TrainResult } from './run.ts';

export { datasetObsFeatures, envelopeFromDataset } from './offline_loop.ts';
export type { TrainCallbacks } from './run.ts';

/** The spec the offline loop builds for `cfg.method` on dataset `ds`. */
export function buildSpec(cfg: TrainConfig, ds: Dataset): PolicySpec {
  return offlineSpec(getMethod(cfg.method), cfg, ds);
}

/** The offline loop for `cfg.method` (fresh, warm-started from `cfg.init`, or resumed); the caller disposes the policy. */
export function trainOffline(runDir: string, cfg: TrainConfig, resume: boolean, cb: TrainCallbacks = {}): Promise<TrainResult> {
  return runOffline(getMethod(cfg.method), runDir, cfg, resume, cb);
}
