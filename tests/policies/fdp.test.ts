/**
 * FDP (policies/fdp): at the start of phase 2 the composed ε is the base's bit for bit (block-wise and output-sum),
 * and `res_ratio` is 0; the base reads only its prioritised keys (perturbing `rest` leaves its ε bit-identical,
 * perturbing a priority key changes it); the depth encoder pools 32×32 to 16×16; and FDP learns toy/point_reach split
 * into two keys (priority = goal-relative position, rest = velocity) to ≥ 80 % success.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { Rng } from '../../sim/math/rng.ts';
import { readDataset } from '../../sim/data/dataset.ts';
import { initBackend } from '../../policies/common/backend.ts';
import { defaultAdam } from '../../policies/common/params.ts';
import type { PolicySpec } from '../../policies/common/policy.ts';
import { FdpPolicy, type FdpConfig } from '../../policies/fdp/index.ts';
import { evaluateEpisodes } from '../../policies/train/evaluate.ts';
import { readFileSync } from 'node:fs';
import { readModelWeights, resolveInit } from '../../policies/train/checkpoint.ts';
import { buildSpec, trainOffline } from '../../policies/train/offline.ts';
import { chunkedBatcher } from '../../policies/train/offline_loop.ts';
import type { TrainConfig } from '../../policies/train/run.ts';
import { loadScenesForTest, tmp, writeExpertDemos } from './helpers.ts';

const SPLIT = { splitObs: true };
const PRIO = ['observation.goal_rel'], REST = ['observation.velocity'];
let data = '';

const trainCfg = (methodConfig: Record<string, unknown>, steps: number): TrainConfig => ({
  method: 'fdp', sceneId: 'toy/point_reach', data, steps, seed: 0, batchSize: 128, optim: { ...defaultAdam(), lr: 1e-3 }, checkpointEvery: steps,
  evalEpisodes: 0, logEvery: 50, workers: 1, backend: 'wasm', backendRunning: 'wasm', methodConfig, overrides: SPLIT, command: 'test',
});
const fdpCfg = (over: Partial<FdpConfig>): Record<string, unknown> => ({ obsKeys: [...PRIO, ...REST], priority: PRIO, rest: REST, width: 32, depth: 2, resWidth: 32, trainSteps: 20, inferSteps: 4, ...over });
const bits = (t: tf.Tensor) => Buffer.from((t.dataSync() as Float32Array).buffer.slice(0));

beforeAll(async () => {
  await initBackend('wasm');
  await loadScenesForTest();
  data = path.join(tmp(), 'demos');
  writeExpertDemos(data, 'toy/point_reach', 40, 0, SPLIT);
}, 120_000);

async function specOf(over: Partial<FdpConfig>): Promise<PolicySpec> {
  return buildSpec(trainCfg(fdpCfg(over), 1), await readDataset(data));
}

/** Random (not all-zero) weights for every parameter, EMA = live. */
function perturb(p: FdpPolicy, names: readonly string[], seed: number): void {
  tf.tidy(() => { for (const n of names) { const v = p.params.get(n); v.assign(tf.add(v, tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', seed++), 0.1))); } });
  for (const n of names) p.ema!.shadow.get(n)!.assign(p.params.get(n));
}

describe('FDP', () => {
  it('phase 2 at step 0: composed ε = base ε bit for bit (blockwise and output), res_ratio 0; base parameters frozen', async () => {
    for (const compose of ['blockwise', 'output'] as const) {
      const base = new FdpPolicy(await specOf({ phase: 'base' }), 3);
      const res = new FdpPolicy(await specOf({ phase: 'residual', compose }), 4);
      try {
        perturb(base, base.params.names, 11);
        // the residual trunk random too (only its zero-initialised outputs stay 0)
        perturb(res, res.resParamNames.filter((n) => !/delta|\/eps\//.test(n)), 21);
        for (const n of base.params.names) { res.params.get(n).assign(base.params.get(n)); res.ema!.shadow.get(n)!.assign(base.params.get(n)); }
        expect(res.baseParamNames).toEqual(base.params.names);
        expect(res.baseParamNames.every((n) => !res.params.get(n).trainable)).toBe(true);
        expect(res.resParamNames.every((n) => res.params.get(n).trainable)).toBe(true);
        tf.tidy(() => {
          const B = 16, rng = new Rng(5);
          const x = tf.tensor2d(Float32Array.from({ length: B * res.chunkDim }, () => rng.normal(0, 1)), [B, res.chunkDim]);
          const t = tf.tensor2d(Float32Array.from({ length: B }, () => rng.int(20)), [B, 1]);
          const o = tf.tensor2d(Float32Array.from({ length: B * res.obsDim }, () => rng.uniform(-1, 1)), [B, res.obsDim]);
          const e = res.epsT(x, t, o, undefined, true);
          expect(bits(e.eps).equals(bits(e.base!)), compose).toBe(true);
          expect(bits(e.eps).equals(bits(base.epsT(x, t, o).eps)), compose).toBe(true);
          // …and the residual trunk is not trivially zero: its block states carry signal
          expect(tf.max(tf.abs(e.eps)).dataSync()[0]).toBeGreaterThan(0);
        });
        const batch = chunkedBatcher(await readDataset(data), res.spec, 1).sample(32);
        tf.tidy(() => {
          const { metrics } = res.loss(batch, new Rng(2));
          expect(metrics!['losses/res_ratio']!.dataSync()[0]).toBe(0);
        });
      } finally { base.dispose(); res.dispose(); }
    }
  });

  it('the base reads only the priority keys: perturbing rest leaves base ε bit-identical, perturbing priority changes it', async () => {
    const p = new FdpPolicy(await specOf({ phase: 'residual' }), 5);
    try {
      perturb(p, p.params.names, 31);
      tf.tidy(() => {
        const B = 8, rng = new Rng(9);
        const x = tf.tensor2d(Float32Array.from({ length: B * p.chunkDim }, () => rng.normal(0, 1)), [B, p.chunkDim]);
        const t = tf.fill([B, 1], 7) as tf.Tensor2D;
        const o = Float32Array.from({ length: B * p.obsDim }, () => rng.uniform(-1, 1));
        // frame layout: [goal_rel (2), velocity (2)] × To
        const restCols = [2, 3, 6, 7], prioCols = [0, 1, 4, 5];
        const shifted = (cols: number[]) => { const q = o.slice(); for (let r = 0; r < B; r++) for (const c of cols) q[r * p.obsDim + c]! += 0.7; return tf.tensor2d(q, [B, p.obsDim]); };
        const e0 = p.epsT(x, t, tf.tensor2d(o, [B, p.obsDim]), undefined, true);
        const eRest = p.epsT(x, t, shifted(restCols), undefined, true);
        const ePrio = p.epsT(x, t, shifted(prioCols), undefined, true);
        expect(bits(eRest.base!).equals(bits(e0.base!))).toBe(true);
        expect(bits(eRest.eps).equals(bits(e0.eps))).toBe(false); // the residual does see them
        expect(bits(ePrio.base!).equals(bits(e0.base!))).toBe(false);
      });
    } finally { p.dispose(); }
  });

  it('learns toy/point_reach split into two keys (priority goal_rel, rest velocity) to ≥ 80 % success', async () => {
    // run folders (the async loop yields to the test runner; a long synchronous loop starves vitest's RPC)
    const baseRun = path.join(tmp(), 'base'), resRun = path.join(tmp(), 'res');
    const big = { width: 128, trainSteps: 100, inferSteps: 8, emaDecay: 0.99 };
    (await trainOffline(baseRun, trainCfg(fdpCfg({ phase: 'base', ...big }), 500), false)).policy.dispose();
    const init = readModelWeights(path.join(baseRun, 'checkpoints', '500'));
    const ratios: number[] = [];
    const { policy } = await trainOffline(resRun, { ...trainCfg(fdpCfg({ phase: 'residual', resWidth: 64, ...big }), 200), init: resolveInit(baseRun) }, false);
    const fdp = policy as FdpPolicy;
    try {
      // the frozen base came through unchanged; the residual moved the prediction
      for (const n of fdp.baseParamNames) expect(Buffer.from(fdp.ema!.shadow.get(n)!.dataSync().buffer).equals(Buffer.from(init[n]!.slice().buffer)), n).toBe(true);
      for (const line of readFileSync(path.join(resRun, 'metrics.jsonl'), 'utf8').trim().split('\n')) { const m = JSON.parse(line); if (m['losses/res_ratio'] !== undefined) ratios.push(m['losses/res_ratio']); }
      expect(ratios.length).toBeGreaterThan(0);
      expect(ratios[ratios.length - 1]).toBeGreaterThan(0);
      fdp.resProbe = [];
      const eps = evaluateEpisodes(fdp, { sceneId: 'toy/point_reach', overrides: SPLIT, seeds: Array.from({ length: 30 }, (_, i) => 10_000 + i), noiseSeed: 1 });
      const sr = eps.filter((e) => e.success).length / eps.length;
      expect(sr).toBeGreaterThanOrEqual(0.8);
      expect(fdp.resProbe.length).toBe(30);
      expect(fdp.resProbe.every((r) => r.length > 0 && r.every(Number.isFinite))).toBe(true);
    } finally { fdp.dispose(); }
  }, 300_000);
});

