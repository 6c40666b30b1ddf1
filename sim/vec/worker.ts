/**
 * WorkerVecEnv: envs split across worker_threads (one or more worlds per worker). Observations, actions, rewards and
 * flags live in SharedArrayBuffers, so a step costs one small message per worker and no copies.
 */
import { Worker } from 'node:worker_threads';
import { allocBuffers, type VecBuffers } from './core.ts';
import { checkActions, sceneFeatures } from './sync.ts';
import type { Features } from '../core/features.ts';
import type { AutoresetMode, BatchObservation, FinishedEpisode, VecEnv, VecEnvOptions, VecStepResult } from './types.ts';

export interface WorkerVecEnvOptions extends VecEnvOptions {
  /** Worker threads (default: min(numEnvs, 2)). */
  numWorkers?: number;
  /** Module URLs each worker imports before building envs (they register scenes). Default: the project's scenes/index.ts. */
  setupModules?: string[];
}

/** The project's scene registry module; sim/ never imports scenes, it only names the module for workers to load. */
const DEFAULT_SETUP = [new URL('../../scenes/index.ts', import.meta.url).href];

type Reply = { type: 'ready' | 'done' | 'closed' | 'error'; message?: string; episodes?: FinishedEpisode[]; finalObs?: (Record<string, Float32Array> | null)[] };

export class WorkerVecEnv implements VecEnv {
  readonly numEnvs: number;
  readonly autoresetMode: AutoresetMode;
  readonly observationFeatures: Features;
  readonly actionFeatures: Features;
  readonly actionSize: number;
  readonly numWorkers: number;
  private readonly buf: VecBuffers;
  private readonly workers: Worker[] = [];
  private readonly slices: { first: number; count: number }[] = [];
  private failure: Error | null = null;

  private constructor(opts: WorkerVecEnvOptions) {
    this.numEnvs = opts.numEnvs;
    this.autoresetMode = opts.autoresetMode ?? 'next-step';
    const f = sceneFeatures(opts.sceneId, opts.overrides);
    this.observationFeatures = f.observation;
    this.actionFeatures = f.action;
    this.actionSize = f.actionSize;
    this.numWorkers = Math.max(1, Math.min(opts.numWorkers ?? 2, opts.numEnvs));
    this.buf = allocBuffers(this.observationFeatures, this.actionSize, this.numEnvs, true);
  }

  /** Start the workers and wait until every one has built its envs. Needs physics initialised in this thread. */
  static async create(opts: WorkerVecEnvOptions): Promise<WorkerVecEnv> {
    if (!(opts.numEnvs >= 1)) throw new Error(`WorkerVecEnv: numEnvs must be ≥ 1, got ${opts.numEnvs}`);
    const v = new WorkerVecEnv(opts);
    const base = Math.floor(v.numEnvs / v.numWorkers), extra = v.numEnvs % v.numWorkers;
    let first = 0;
    for (let w = 0; w < v.numWorkers; w++) {
      const count = base + (w < extra ? 1 : 0);
      v.slices.push({ first, count });
      const worker = new Worker(new URL('./worker_boot.mjs', import.meta.url), {
        workerData: {
          entry: './vec_worker.ts',
          setupModules: opts.setupModules ?? DEFAULT_SETUP,
          init: { sceneId: opts.sceneId, overrides: opts.overrides ?? {}, count, first, total: v.numEnvs, mode: v.autoresetMode, buf: v.buf },
        },
      });
      worker.on('error', (e) => { v.failure = e; });
      v.workers.push(worker);
      first += count;
    }
    await Promise.all(v.workers.map((w) => v.next(w)));
    return v;
  }

  async reset(seed: number): Promise<{ obs: BatchObservation }> {
    await this.broadcast({ type: 'reset', seed });
    return { obs: this.buf.obs };
  }

  async step(actions: Float32Array): Promise<VecStepResult> {
    checkActions(actions, this.numEnvs, this.actionSize, 'WorkerVecEnv');
    this.buf.actions.set(actions);
    const replies = await this.broadcast({ type: 'step' });
    const episodes: FinishedEpisode[] = [];
    const finalObs: VecStepResult['finalObs'] = new Array(this.numEnvs).fill(null);
    replies.forEach((r, w) => {
      episodes.push(...(r.episodes ?? []));
      r.finalObs?.forEach((o, j) => { if (o) finalObs[this.slices[w]!.first + j] = o; });
    });
    episodes.sort((a, b) => a.env - b.env);
    return { obs: this.buf.obs, rewards: this.buf.rewards, terminated: this.buf.terminated, truncated: this.buf.truncated, finalObs, episodes };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map(async (w) => {
      try {
        const bye = this.next(w).catch(() => undefined); // the worker may exit before or after answering
        w.postMessage({ type: 'close' });
        await Promise.race([bye, new Promise((r) => setTimeout(r, 5000).unref())]);
      } catch { /* already gone */ }
      await w.terminate();
    }));
  }

  private async broadcast(msg: unknown): Promise<Reply[]> {
    if (this.failure) throw this.failure;
    const waits = this.workers.map((w) => this.next(w));
    for (const w of this.workers) w.postMessage(msg);
    return Promise.all(waits);
  }

  private next(w: Worker): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const onMsg = (r: Reply) => { cleanup(); r.type === 'error' ? reject(new Error(r.message)) : resolve(r); };
      const onErr = (e: Error) => { cleanup(); reject(e); };
      const onExit = (code: number) => { cleanup(); reject(new Error(`vec worker exited with code ${code}`)); };
      const cleanup = () => { w.off('message', onMsg); w.off('error', onErr); w.off('exit', onExit); };
      w.on('message', onMsg); w.on('error', onErr); w.on('exit', onExit);
    });
  }
}
