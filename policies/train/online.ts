/** Online (environment-interaction) training: dispatch by method. InterPrior/DIAL add their loops here. */
import type { TrainCallbacks } from './offline.ts';
import type { TrainConfig } from './run.ts';

export async function trainOnline(runDir: string, cfg: TrainConfig, resume: boolean, cb: TrainCallbacks = {}): Promise<void> {
  if (cfg.method === 'ppo') {
    const { trainPpo } = await import('../ppo/train.ts');
    const r = await trainPpo(runDir, cfg, resume, cb);
    r.policy.dispose();
    return;
  }
  throw new Error(`no online training loop for method '${cfg.method}'`);
}
