/**
 * Data-parallel worker: one tfjs backend per thread. Builds the Trainable from a factory module, then per message
 * applies the previous step's averaged gradients (identical Adam on every worker ⇒ identical weights) and computes
 * gradients on its shard of the next batch.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Rng } from '../../sim/math/rng.ts';
import { initBackend } from '../common/backend.ts';
import { Adam, type AdamConfig, type Ema } from '../common/params.ts';
import { applyGrads, computeGrads } from './step.ts';
import type { Batch, Trainable, TrainableFactoryModule } from './trainable.ts';

export interface DpInit { entry: string; backend: string; module: string; config: unknown; seed: number; adam: AdamConfig }
export type DpRequest =
  | { kind: 'step'; apply?: Record<string, Float32Array>; batch?: Batch; rngSeed: number }
  | { kind: 'weights' }
  | { kind: 'setState'; weights: Record<string, Float32Array>; opt?: ReturnType<Adam['state']>; ema?: Record<string, Float32Array> | null }
  | { kind: 'close' };

const init = workerData as DpInit;
const port = parentPort!;

async function main(): Promise<void> {
  const backend = await initBackend(init.backend);
  const mod = (await import(init.module)) as TrainableFactoryModule;
  const t: Trainable = await mod.createTrainable(init.config, init.seed);
  const opt = new Adam(t.params, init.adam);
  port.postMessage({ kind: 'ready', backend });
  port.on('message', (m: DpRequest) => {
    try {
      if (m.kind === 'step') {
        if (m.apply) {
          applyGrads(opt, m.apply);
          (t as Trainable & { ema?: Ema | null }).ema?.update(opt.step);
        }
        if (!m.batch) { port.postMessage({ kind: 'applied' }); return; }
        const r = computeGrads(t, m.batch, new Rng(m.rngSeed));
        port.postMessage({ kind: 'grads', ...r }, Object.values(r.grads).map((g) => g.buffer as ArrayBuffer));
      } else if (m.kind === 'weights') {
        port.postMessage({ kind: 'weights', weights: t.params.toArrays(), opt: opt.state(), ema: (t as Trainable & { ema?: Ema | null }).ema?.toArrays() ?? null });
      } else if (m.kind === 'setState') {
        t.params.assignArrays(m.weights);
        if (m.opt) opt.setState(m.opt);
        if (m.ema) (t as Trainable & { ema?: Ema | null }).ema?.assignArrays(m.ema);
        port.postMessage({ kind: 'ok' });
      } else if (m.kind === 'close') {
        port.close();
      }
    } catch (e) {
      port.postMessage({ kind: 'error', message: e instanceof Error ? e.message : String(e) });
    }
  });
}

main().catch((e) => port.postMessage({ kind: 'error', message: e instanceof Error ? e.message : String(e) }));
