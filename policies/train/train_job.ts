/**
 * A training run as a `runParallel` job: experiments run independent seeds/configs in parallel worker threads,
 * each with its own TensorFlow.js backend:
 *
 * ```ts
 * const results = await runParallel<TrainJob, TrainJobResult>(TRAIN_JOB_MODULE, seeds.map((seed) => ({ runDir: `runs/x-${seed}`, cfg: { ...cfg, seed } })), 2);
 * ```
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initPhysics } from '../../sim/physics/index.ts';
import { initBackend } from '../common/backend.ts';
import type { TrainConfig } from './run.ts';
import { writeRunConfig } from './run.ts';

export const TRAIN_JOB_MODULE = fileURLToPath(import.meta.url);

export interface TrainJob { runDir: string; cfg: TrainConfig }
export interface TrainJobResult { runDir: string; seed: number; finalLoss: number; backend: string; checkpoint: string | null; eval: Record<string, number> | null }

export async function runJob(job: TrainJob): Promise<TrainJobResult> {
  await initPhysics();
  await import('../../scenes/index.ts');
  const backend = await initBackend(job.cfg.backend);
  const cfg = { ...job.cfg, backendRunning: backend };
  writeRunConfig(job.runDir, cfg);
  let finalLoss = NaN, checkpoint: string | null = null, ev: Record<string, number> | null = null;
  const cb = {
    onProgress: (_s: number, l: number) => { finalLoss = l; },
    onCheckpoint: (_s: number, d: string, e?: Record<string, number>) => { checkpoint = path.resolve(d); ev = e ?? null; },
  };
  const { getMethod } = await import('../registry.ts');
  if (getMethod(cfg.method).kind === 'online') {
    const { trainOnline } = await import('./online.ts');
    await trainOnline(job.runDir, cfg, false, cb);
  } else {
    const { trainOffline } = await import('./offline.ts');
    (await trainOffline(job.runDir, cfg, false, cb)).policy.dispose();
  }
  return { runDir: job.runDir, seed: cfg.seed, finalLoss, backend, checkpoint, eval: ev };
}
