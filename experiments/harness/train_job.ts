/**
 * A training run as a `runParallel` job: experiments run independent seeds/configs in parallel worker threads,
 * each with its own TensorFlow.js backend. It lives in experiments/ because it registers the scenes (policies/
 * imports no scene); the training itself is the method's stage (`getMethod(cfg.method).train`).
 *
 * ```ts
 * const results = await runParallel<TrainJob, TrainJobResult>(TRAIN_JOB_MODULE, seeds.map((seed) => ({ runDir: `runs/x-${seed}`, cfg: { ...cfg, seed } })), 2);
 * ```
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initPhysics } from '../../sim/physics/index.ts';
import { initBackend } from '../../policies/common/backend.ts';
import type { TrainConfig } from '../../policies/train/run.ts';
import { readRunConfig, writeRunConfig } from '../../policies/train/run.ts';

/** Absolute path of this module, for `runParallel`. */
export const TRAIN_JOB_MODULE = fileURLToPath(import.meta.url);

/**
 * One job: train `cfg` into `runDir` from scratch (or from `cfg.init`). `resume: 'auto'` (a queued sweep run that may
 * be a retry) continues from `runDir`'s latest checkpoint when there is one, bit-exactly, instead of starting over.
 */
export interface TrainJob { runDir: string; cfg: TrainConfig; resume?: 'auto' }
/**
 * A job's JSON result: last logged loss, last checkpoint folder and its evaluation (null when none ran), and the step
 * it resumed from (0 = a fresh run).
 */
export interface TrainJobResult { runDir: string; seed: number; finalLoss: number; backend: string; checkpoint: string | null; eval: Record<string, number> | null; resumedFrom?: number }

export async function runJob(job: TrainJob): Promise<TrainJobResult> {
  await initPhysics();
  await import('../../scenes/index.ts');
  const backend = await initBackend(job.cfg.backend);
  const cfg = { ...job.cfg, backendRunning: backend };
  const latest = path.join(job.runDir, 'latest');
  const resumedFrom = job.resume === 'auto' && existsSync(latest) ? Number(readFileSync(latest, 'utf8').trim()) || 0 : 0;
  if (resumedFrom) {
    const prev = readRunConfig(job.runDir);
    if (JSON.stringify({ ...prev, backendRunning: '' }) !== JSON.stringify({ ...cfg, backendRunning: '' })) throw new Error(`${job.runDir} holds another run (its config.json differs from the job's); move it away`);
    if (prev.backendRunning && prev.backendRunning !== backend) throw new Error(`${job.runDir}: run used backend ${prev.backendRunning}, this worker has ${backend} (a resume would not be bit-identical)`);
  }
  writeRunConfig(job.runDir, cfg);
  let finalLoss = NaN, checkpoint: string | null = null, ev: Record<string, number> | null = null;
  const cb = {
    onProgress: (_s: number, l: number) => { finalLoss = l; },
    onCheckpoint: (_s: number, d: string, e?: Record<string, number>) => { checkpoint = path.resolve(d); ev = e ?? null; },
  };
  const { getMethod } = await import('../../policies/registry.ts');
  (await getMethod(cfg.method).train(job.runDir, cfg, resumedFrom > 0, cb)).policy.dispose();
  return { runDir: job.runDir, seed: cfg.seed, finalLoss, backend, checkpoint, eval: ev, resumedFrom };
}
