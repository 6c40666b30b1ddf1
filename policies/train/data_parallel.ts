/**
 * Data-parallel training over worker_threads (tfjs-wasm cannot use threads in Node, so we use one backend per
 * worker). Each step: the batch is split into W shards, every worker computes gradients on its shard, the main thread
 * averages them (weighted by shard size) and sends the average with the next batch; every worker applies the same
 * Adam update, so all replicas hold identical weights without broadcasting them.
 *
 * Also `runParallel`: run independent jobs (seeds/configs of an experiment) in a pool of workers.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import type { AdamConfig } from '../common/params.ts';
import type { DpInit, DpRequest } from './dp_worker.ts';
import { shardBatch, type Batch } from './trainable.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const WORKER_BOOT = path.join(here, 'worker_boot.mjs');

/** Start a TS worker through the tsx bootstrap. */
export function startTsWorker(entryTs: string, data: Record<string, unknown>): Worker {
  return new Worker(WORKER_BOOT, { workerData: { ...data, entry: pathToFileURL(entryTs).href } });
}

interface Reply { kind: string; message?: string; [k: string]: unknown }

class Replica {
  private queue: ((r: Reply) => void)[] = [];
  private failed: Error | null = null;
  constructor(readonly worker: Worker) {
    worker.on('message', (r: Reply) => {
      if (r.kind === 'error') this.failed = new Error(`data-parallel worker: ${r.message}`);
      const q = this.queue.shift();
      q?.(r);
    });
    worker.on('error', (e) => { this.failed = e; for (const q of this.queue.splice(0)) q({ kind: 'error', message: e.message }); });
  }
  next(): Promise<Reply> {
    return new Promise((res, rej) => {
      this.queue.push((r) => (r.kind === 'error' ? rej(new Error(`data-parallel worker: ${r.message}`)) : res(r)));
    });
  }
  send(m: DpRequest, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.failed) return Promise.reject(this.failed);
    const p = this.next();
    this.worker.postMessage(m, transfer);
    return p;
  }
}

export interface DataParallelOptions {
  /** Absolute path of a module exporting `createTrainable(config, seed)`. */
  module: string;
  config: unknown;
  /** Weight-init seed (identical on every worker). */
  seed: number;
  workers: number;
  backend: string;
  adam: AdamConfig;
}

/** One replica's weights, optimiser state and EMA (null when the method keeps none). */
export interface ReplicaState {
  weights: Record<string, Float32Array>;
  opt: { step: number; m: Record<string, Float32Array>; v: Record<string, Float32Array> };
  ema: Record<string, Float32Array> | null;
}

export class DataParallelTrainer {
  private replicas: Replica[] = [];
  private pending: Record<string, Float32Array> | null = null;
  backend = '';

  private constructor(readonly opts: DataParallelOptions) {}

  static async start(opts: DataParallelOptions): Promise<DataParallelTrainer> {
    const t = new DataParallelTrainer(opts);
    const entry = path.join(here, 'dp_worker.ts');
    for (let k = 0; k < opts.workers; k++) {
      const init: Omit<DpInit, 'entry'> = { backend: opts.backend, module: pathToFileURL(opts.module).href, config: opts.config, seed: opts.seed, adam: opts.adam };
      const w = startTsWorker(entry, init as unknown as Record<string, unknown>);
      const r = new Replica(w);
      t.replicas.push(r);
    }
    const ready = await Promise.all(t.replicas.map((r) => r.next()));
    t.backend = String(ready[0]!.backend);
    return t;
  }

  /** One step over `batch`; returns the mean loss and metrics (weighted by shard size). */
  async step(batch: Batch, rngSeed: number): Promise<{ loss: number; metrics: Record<string, number> }> {
    const W = this.replicas.length;
    const n = Object.values(batch)[0]!.shape[0]!;
    const apply = this.pending ?? undefined;
    const replies = await Promise.all(this.replicas.map((r, k) => {
      const shard = shardBatch(batch, k, W);
      return r.send({ kind: 'step', apply, batch: shard, rngSeed: rngSeed + k }, Object.values(shard).map((c) => c.data.buffer as ArrayBuffer));
    }));
    // --- average gradients (weighted by shard rows) ---
    const avg: Record<string, Float32Array> = {};
    let loss = 0;
    const metrics: Record<string, number> = {};
    replies.forEach((r, k) => {
      const rows = Math.floor(((k + 1) * n) / W) - Math.floor((k * n) / W);
      const wgt = rows / n;
      loss += wgt * (r.loss as number);
      for (const [mk, mv] of Object.entries(r.metrics as Record<string, number>)) metrics[mk] = (metrics[mk] ?? 0) + wgt * mv;
      for (const [name, g] of Object.entries(r.grads as Record<string, Float32Array>)) {
        let a = avg[name];
        // Shared memory: the next step's message hands the same averaged gradients to every worker without copying.
        if (!a) { a = avg[name] = new Float32Array(new SharedArrayBuffer(g.length * 4)); }
        for (let i = 0; i < g.length; i++) a[i]! += wgt * g[i]!;
      }
    });
    this.pending = avg;
    return { loss, metrics };
  }

  /** The averaged gradient of the last `step` (applied at the next step or `state()`), name → data; null before any step. */
  get lastGradients(): Readonly<Record<string, Float32Array>> | null { return this.pending; }

  /**
   * Apply any pending update and return the (identical) weights and optimiser state of replica 0. `verify` reads every
   * replica back and throws unless all hold bit-identical weights and EMA (a warm start's step 0 checks it).
   */
  async state(verify = false): Promise<ReplicaState> {
    if (this.pending) {
      const apply = this.pending;
      this.pending = null;
      await Promise.all(this.replicas.map((r) => r.send({ kind: 'step', apply, rngSeed: 0 })));
    }
    const states = (await Promise.all((verify ? this.replicas : this.replicas.slice(0, 1)).map((r) => r.send({ kind: 'weights' })))) as unknown as ReplicaState[];
    const s0 = states[0]!;
    states.slice(1).forEach((s, k) => {
      for (const [what, a, b] of [['weights', s0.weights, s.weights], ['EMA', s0.ema, s.ema]] as const) {
        if (!a || !b) { if (a !== b) throw new Error(`data-parallel replica ${k + 1} has ${b ? 'an' : 'no'} EMA, replica 0 ${a ? 'has' : 'has not'}`); continue; }
        for (const n of Object.keys(a)) {
          const x = a[n]!, y = b[n];
          if (!y || y.length !== x.length || !Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength))) {
            throw new Error(`data-parallel replica ${k + 1} disagrees with replica 0 on ${what} '${n}'`);
          }
        }
      }
    });
    return s0;
  }

  /** Set every replica's weights/optimiser/EMA (resume, warm start). */
  async setState(weights: Record<string, Float32Array>, opt: { step: number; m: Record<string, Float32Array>; v: Record<string, Float32Array> }, ema: Record<string, Float32Array> | null): Promise<void> {
    this.pending = null;
    await Promise.all(this.replicas.map((r) => r.send({ kind: 'setState', weights, opt, ema })));
  }

  async close(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.worker.terminate()));
  }
}

/**
 * Run independent jobs in a pool of `workers` threads. Each job runs `module`'s exported `runJob(input)` (async) in a
 * fresh worker; results come back in input order. For seeds/configs of an experiment.
 */
export async function runParallel<I, O>(module: string, inputs: I[], workers: number, onDone?: (finished: number, total: number) => void): Promise<O[]> {
  let finished = 0;
  const entry = path.join(here, 'job_worker.ts');
  const out: O[] = new Array(inputs.length);
  let next = 0;
  const lane = async () => {
    while (next < inputs.length) {
      const i = next++;
      out[i] = await new Promise<O>((res, rej) => {
        const w = startTsWorker(entry, { module: pathToFileURL(module).href, input: inputs[i] });
        w.once('message', (m: { ok: boolean; result?: O; message?: string }) => {
          void w.terminate();
          if (m.ok) { finished++; onDone?.(finished, inputs.length); res(m.result as O); } else rej(new Error(`job ${i}: ${m.message}`));
        });
        w.once('error', rej);
      });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(workers, inputs.length)) }, lane));
  return out;
}
