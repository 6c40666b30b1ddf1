/**
 * Learning tests (real training, seconds): BC and Diffusion Policy reach ≥ 80% success on toy/point_reach from
 * expert demos generated in-test; PPO improves the mean episode return on toy/point_reach by ≥ 5 (from ≈ 0 for the
 * initial near-zero policy; the expert gets ≈ 11–12).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { initBackend } from '../../policies/common/backend.ts';
import { defaultAdam } from '../../policies/common/params.ts';
import { trainOffline } from '../../policies/train/offline.ts';
import { evaluate, evaluateVec } from '../../policies/train/evaluate.ts';
import type { TrainConfig } from '../../policies/train/run.ts';
import { trainPpo } from '../../policies/ppo/train.ts';
import { builtinPolicy, makeEnv, runEpisode } from '../../sim/core/index.ts';
import { loadScenesForTest, tmp, writeExpertDemos } from './helpers.ts';

let data = '';

function config(method: string, steps: number, methodConfig: Record<string, unknown>, extra: Partial<TrainConfig> = {}): TrainConfig {
  return {
    method, sceneId: 'toy/point_reach', data, steps, seed: 0, batchSize: 128, optim: { ...defaultAdam(), lr: 1e-3 },
    checkpointEvery: steps, evalEpisodes: 0, logEvery: 50, workers: 1, backend: 'wasm', backendRunning: 'wasm',
    methodConfig, overrides: {}, command: 'test', ...extra,
  };
}

beforeAll(async () => {
  await initBackend('wasm');
  await loadScenesForTest();
  data = path.join(tmp(), 'demos');
  writeExpertDemos(data, 'toy/point_reach', 60, 0);
});

describe('learning on toy/point_reach', () => {
  it('BC reaches ≥ 80% success from expert demos', async () => {
    const { policy } = await trainOffline(tmp(), config('bc', 600, { hidden: [128, 128] }), false);
    try {
      const r = await evaluate(policy, { sceneId: 'toy/point_reach', episodes: 30, seed: 10_000 });
      console.log(`BC: success ${r.successRate} ci95 ${r.ci95.map((x) => x.toFixed(2))} return ${r.returnMean.toFixed(2)}`);
      expect(r.successRate).toBeGreaterThanOrEqual(0.8);
      // Vectorised evaluation (sim/vec, batched act) plays the same episodes (same seeds) to the same outcomes.
      const v = await evaluateVec(policy, { sceneId: 'toy/point_reach', episodes: 30, seed: 10_000, numEnvs: 8 });
      expect(v.perEpisode.map((e) => e.seed)).toEqual(r.perEpisode.map((e) => e.seed));
      expect(v.perEpisode.map((e) => e.success)).toEqual(r.perEpisode.map((e) => e.success));
      for (let i = 0; i < 30; i++) expect(v.perEpisode[i]!.return).toBeCloseTo(r.perEpisode[i]!.return, 2);
    } finally { policy.dispose(); }
  }, 240_000);

  it('Diffusion Policy (DDPM train, DDIM sample, chunked) reaches ≥ 80% success from expert demos', async () => {
    const { policy } = await trainOffline(tmp(), config('diffusion', 600, { width: 128, depth: 2, inferSteps: 8, emaDecay: 0.99 }), false);
    try {
      policy.seedNoise(1);
      const r = await evaluate(policy, { sceneId: 'toy/point_reach', episodes: 30, seed: 10_000 });
      console.log(`Diffusion: success ${r.successRate} ci95 ${r.ci95.map((x) => x.toFixed(2))} return ${r.returnMean.toFixed(2)}`);
      expect(r.successRate).toBeGreaterThanOrEqual(0.8);
    } finally { policy.dispose(); }
  }, 300_000);

  it('PPO improves the episode return by ≥ 5 within 8 iterations, and beats a random policy by ≥ 5 on held-out seeds', async () => {
    const cfg = config('ppo', 8 * 8 * 128, { numEnvs: 8, rolloutSteps: 128 }, { data: null, optim: { ...defaultAdam(), lr: 3e-3, clipGradNorm: 0.5 }, checkpointEvery: 1_000_000 });
    const { policy, history } = await trainPpo(tmp(), cfg, false);
    const first = history[0]!.returnMean, last = (history.at(-1)!.returnMean + history.at(-2)!.returnMean) / 2;
    console.log(`PPO: return ${first.toFixed(2)} → ${last.toFixed(2)}`, history.map((h) => h.returnMean.toFixed(1)).join(' '));
    expect(last - first).toBeGreaterThanOrEqual(5);
    // Held out: the final policy on seeds training never saw, against a random policy measured here on the same seeds.
    const HELD_OUT = 90_000, N = 16;
    let ppoReturn: number;
    try {
      ppoReturn = (await evaluate(policy, { sceneId: 'toy/point_reach', episodes: N, seed: HELD_OUT })).returnMean;
    } finally {
      policy.dispose();
    }
    const env = makeEnv('toy/point_reach', {});
    let randomReturn = 0;
    try {
      for (let i = 0; i < N; i++) randomReturn += runEpisode(env, HELD_OUT + i, builtinPolicy('random')).return / N;
    } finally {
      env.dispose();
    }
    console.log(`PPO held-out return ${ppoReturn.toFixed(2)} vs random ${randomReturn.toFixed(2)}`);
    expect(ppoReturn - randomReturn).toBeGreaterThanOrEqual(5);
  }, 240_000);
});
