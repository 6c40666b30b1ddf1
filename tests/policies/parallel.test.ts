/**
 * Parallel workers: independent training jobs in worker threads (runParallel) give exactly the weights of the same
 * run in-process; data-parallel training (2 workers) is deterministic and tracks single-process training; the
 * in-memory offline loop (what studies train with) is the run-folder loop: same config ⇒ bit-identical weights.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { initBackend } from '../../policies/common/backend.ts';
import { defaultAdam } from '../../policies/common/params.ts';
import { readTrainState } from '../../policies/train/checkpoint.ts';
import { DataParallelTrainer, runParallel } from '../../policies/train/data_parallel.ts';
import { computeGrads } from '../../policies/train/step.ts';
import { chunkedBatcher } from '../../policies/train/offline_loop.ts';
import { Rng } from '../../sim/math/rng.ts';
import { TRAIN_JOB_MODULE, type TrainJob, type TrainJobResult } from '../../experiments/harness/train_job.ts';
import { buildSpec, trainOffline } from '../../policies/train/offline.ts';
import { trainOfflineInMemory } from '../../policies/train/offline_loop.ts';
import { getMethod } from '../../policies/registry.ts';
import { readDataset } from '../../sim/data/dataset.ts';
import type { TrainConfig } from '../../policies/train/run.ts';
import { loadScenesForTest, tmp, writeExpertDemos } from './helpers.ts';

let data = '';
const cfg = (seed: number, workers = 1): TrainConfig => ({
  method: 'bc', sceneId: 'toy/point_reach', data, steps: 20, seed, batchSize: 64, optim: defaultAdam(), checkpointEvery: 20, evalEpisodes: 0,
  logEvery: 10, workers, backend: 'wasm', backendRunning: 'wasm', methodConfig: { hidden: [32, 32] }, overrides: {}, command: 'test',
});
const weights = (run: string) => readFileSync(path.join(run, 'checkpoints', '20', 'weights.bin'));

beforeAll(async () => {
  await initBackend('wasm');
  await loadScenesForTest();
  data = path.join(tmp(), 'demos');
  writeExpertDemos(data, 'toy/point_reach', 4, 0);
});

describe('parallel training', () => {
  it('runParallel jobs reproduce in-process runs exactly; data-parallel is deterministic', async () => {
    const root = tmp();
    const jobs: TrainJob[] = [1, 2].map((seed) => ({ runDir: path.join(root, `job${seed}`), cfg: cfg(seed) }));
    const res = await runParallel<TrainJob, TrainJobResult>(TRAIN_JOB_MODULE, jobs, 2);
    expect(res.map((r) => r.seed)).toEqual([1, 2]);
    expect(res.every((r) => r.backend === 'wasm' && Number.isFinite(r.finalLoss))).toBe(true);
    const local = path.join(root, 'local1');
    (await trainOffline(local, cfg(1), false)).policy.dispose();
    expect(weights(jobs[0]!.runDir).equals(weights(local))).toBe(true);
    expect(weights(jobs[1]!.runDir).equals(weights(local))).toBe(false);

    const dpA = path.join(root, 'dpA'), dpB = path.join(root, 'dpB');
    const la: number[] = [], lb: number[] = [];
    (await trainOffline(dpA, cfg(1, 2), false, { onProgress: (_s, l) => la.push(l) })).policy.dispose();
    (await trainOffline(dpB, cfg(1, 2), false, { onProgress: (_s, l) => lb.push(l) })).policy.dispose();
    expect(weights(dpA).equals(weights(dpB))).toBe(true);
    // Same batches, same init: the averaged gradient equals the full-batch gradient up to float rounding.
    const a = new Float32Array(weights(dpA).buffer.slice(0)), l = new Float32Array(weights(local).buffer.slice(0));
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - l[i]!));
    expect(maxDiff).toBeLessThan(1e-3);
  }, 240_000);

  it('data-parallel gradient = full-batch gradient (the mean, not the sum) on an odd batch, and its loss is the full-batch loss', async () => {
    const ds = await readDataset(data);
    const c = cfg(3);
    const spec = buildSpec(c, ds);
    const batch = chunkedBatcher(ds, spec, 11).sample(63); // odd: shards of 31 and 32 rows
    const local = getMethod('bc').create(spec, c.seed);
    const full = computeGrads(local, structuredClone(batch), new Rng(0));
    local.dispose();
    const dp = await DataParallelTrainer.start({ module: fileURLToPath(new URL('../../policies/train/method_trainable.ts', import.meta.url)), config: spec, seed: c.seed, workers: 2, backend: 'wasm', adam: c.optim });
    try {
      const r = await dp.step(batch, 0);
      const g = dp.lastGradients!;
      expect(Object.keys(g).sort()).toEqual(Object.keys(full.grads).sort());
      let num = 0, den = 0;
      for (const [n, want] of Object.entries(full.grads)) {
        const got = g[n]!;
        expect(got.length, n).toBe(want.length);
        for (let i = 0; i < want.length; i++) { num += (got[i]! - want[i]!) ** 2; den += want[i]! ** 2; }
      }
      expect(den).toBeGreaterThan(0);
      expect(Math.sqrt(num / den)).toBeLessThan(1e-4); // a sum of the shard gradients would be off by 100%
      expect(r.loss).toBeCloseTo(full.loss, 5);
      expect(Number.isFinite(r.loss) && r.loss > 0).toBe(true);
    } finally {
      await dp.close();
    }
  }, 120_000);

  it('the in-memory offline loop gives the run-folder loop\'s weights bit for bit', async () => {
    const run = path.join(tmp(), 'folder');
    const c = { ...cfg(5), methodConfig: { width: 32, depth: 2, trainSteps: 20 }, method: 'diffusion' };
    (await trainOffline(run, c, false)).policy.dispose();
    const ds = await readDataset(data);
    const p = trainOfflineInMemory(getMethod('diffusion'), ds, buildSpec(c, ds), { steps: c.steps, batchSize: c.batchSize, optim: c.optim, seed: c.seed });
    try {
      const ema = p.ema!.toArrays(), live = p.params.toArrays();
      const st = readTrainState(path.join(run, 'checkpoints', '20'));
      for (const n of p.params.names) {
        expect(Buffer.from(live[n]!.buffer).equals(Buffer.from(st.arrays[`param/${n}`]!.slice().buffer)), n).toBe(true);
        expect(Buffer.from(ema[n]!.buffer).equals(Buffer.from(st.arrays[`ema/${n}`]!.slice().buffer)), n).toBe(true);
      }
    } finally {
      p.dispose();
    }
  }, 120_000);
});
