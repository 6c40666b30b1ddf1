/**
 * Run folders: RUN/config.json (the training config, validated on resume), RUN/metrics.jsonl, RUN/checkpoints/…
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { AdamConfig } from '../common/params.ts';
import type { MethodPolicy } from '../common/policy.ts';
import { readJsonFile } from '../common/weights_io.ts';
import { writeAtomic, type InitRef } from './checkpoint.ts';

export interface TrainConfig {
  method: string;
  sceneId: string;
  /** Dataset folder (offline methods). */
  data: string | null;
  /** Total optimisation steps (offline) or PPO iterations × updates, see the method. */
  steps: number;
  seed: number;
  batchSize: number;
  optim: AdamConfig;
  /** Checkpoint (and evaluate) every this many steps, and at the end. */
  checkpointEvery: number;
  /** Evaluation episodes at each checkpoint (0 = none). */
  evalEpisodes: number;
  /** Log losses every this many steps. */
  logEvery: number;
  /** Data-parallel workers (1 = in-process). */
  workers: number;
  /** Backend asked for ('auto', 'wasm', …) and the one that ran. */
  backend: string;
  backendRunning: string;
  /** Method config (merged over the method's defaults). */
  methodConfig: Record<string, unknown>;
  /** Scene config overrides (dotted paths). */
  overrides: Record<string, unknown>;
  command: string;
  /** Training stage of the method (`--config stage=NAME`); absent = the method's default stage. */
  stage?: string;
  /** Warm start (`--init RUN[:STEP]`): a fresh run begins from this checkpoint's inference weights; absent/null = from the seed. */
  init?: InitRef | null;
}

/** Progress hooks of every training loop (the CLI's progress bar, a job's final loss). */
export interface TrainCallbacks {
  onStart?(total: number, start: number): void;
  onProgress?(step: number, loss: number, samplesPerSec: number): void;
  onCheckpoint?(step: number, dir: string, evalResult?: Record<string, number>): void;
}

/** What a training loop hands back: the last step and the trained policy (the caller disposes it). */
export interface TrainResult { step: number; policy: MethodPolicy }

export function writeRunConfig(runDir: string, cfg: TrainConfig): void {
  mkdirSync(runDir, { recursive: true });
  writeAtomic(path.join(runDir, 'config.json'), JSON.stringify(cfg, null, 2));
}

export function readRunConfig(runDir: string): TrainConfig {
  const f = path.join(runDir, 'config.json');
  if (!existsSync(f)) throw new Error(`${runDir}: not a run folder (no config.json)`);
  const c = readJsonFile<TrainConfig>(f, 'run config');
  const bad = (what: string) => new Error(`corrupt run config ${f}: ${what}`);
  if (!c || typeof c !== 'object') throw bad('not an object');
  if (typeof c.method !== 'string' || typeof c.sceneId !== 'string') throw bad('missing method/sceneId');
  for (const k of ['steps', 'seed', 'batchSize', 'checkpointEvery', 'workers'] as const) if (!Number.isInteger(c[k])) throw bad(`'${k}' is not an integer`);
  if (!c.optim || typeof c.optim.lr !== 'number') throw bad('missing optim');
  if (c.stage !== undefined && typeof c.stage !== 'string') throw bad("'stage' is not a string");
  if (c.init != null && (typeof c.init.checkpoint !== 'string' || !Number.isInteger(c.init.step))) throw bad("'init' is not { run, step, checkpoint }");
  return c;
}
