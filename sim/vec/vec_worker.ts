/** Worker side of WorkerVecEnv: owns a VecCore over a slice of the shared buffers; answers reset/step/close. */
import { parentPort, workerData } from 'node:worker_threads';
import { initPhysics } from '../physics/index.ts';
import { VecCore, type VecBuffers } from './core.ts';

interface Init { sceneId: string; overrides: Record<string, unknown>; count: number; first: number; total: number; mode: 'next-step' | 'same-step' | 'disabled'; buf: VecBuffers }
const init = workerData.init as Init;
await initPhysics();
let core: VecCore;
try {
  core = new VecCore(init.sceneId, init.overrides, init.count, init.first, init.total, init.mode, init.buf);
} catch (e) {
  parentPort!.postMessage({ type: 'error', message: (e as Error).message });
  throw e;
}
parentPort!.postMessage({ type: 'ready' });
parentPort!.on('message', (msg: { type: 'reset'; seed: number } | { type: 'step' } | { type: 'close' }) => {
  try {
    if (msg.type === 'reset') { core.reset(msg.seed); parentPort!.postMessage({ type: 'done' }); }
    else if (msg.type === 'step') { const r = core.step(); parentPort!.postMessage({ type: 'done', episodes: r.episodes, finalObs: r.finalObs }); }
    else { core.close(); parentPort!.postMessage({ type: 'closed' }); parentPort!.close(); }
  } catch (e) {
    parentPort!.postMessage({ type: 'error', message: (e as Error).message });
  }
});
