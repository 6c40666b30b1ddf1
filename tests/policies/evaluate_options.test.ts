/**
 * Evaluation with per-episode act options (policies/train/evaluate.ts): the sequential, vectorised and lock-step
 * evaluators hand each episode the options its hook gives (goals stacked by row in batches), and a non-finite action
 * ends that episode as a counted failure. Real toy/point_reach envs; the policies are small recording actors.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ACTION, featureSize, makeEnv, type Observation } from '../../sim/core/index.ts';
import type { ActOptions } from '../../sim/core/policy.ts';
import { loadScenes } from '../../scenes/index.ts';
import { evaluate, evaluateEpisodes, evaluateVec } from '../../policies/train/evaluate.ts';

beforeAll(async () => { await loadScenes(); });

function features() {
  const env = makeEnv('toy/point_reach', {});
  try { return { observation: env.observationFeatures, action: env.actionFeatures }; } finally { env.dispose(); }
}

/** Records the goal of every act call; acts with zeros (or NaN on the rows whose goal is negative). */
function recorder() {
  const f = features(), A = featureSize(f.action[ACTION]!);
  const seen: number[][] = [];
  return {
    seen, name: 'recorder', inputFeatures: f.observation, outputFeatures: f.action,
    reset() {}, dispose() {},
    async act(_o: Observation, opts: ActOptions = {}) { seen.push(Array.from(opts.goal ?? [])); return new Float32Array(A); },
    resetBatch(_rows: number) {},
    actBatch(_o: unknown, rows: number, _active?: Uint8Array, opts: ActOptions = {}) {
      seen.push(Array.from(opts.goal ?? []));
      const out = new Float32Array(rows * A);
      for (let i = 0; i < rows; i++) if ((opts.goal?.[i] ?? 0) < 0) out[i * A] = Number.NaN;
      return out;
    },
  };
}

const base = { sceneId: 'toy/point_reach', overrides: { maxSteps: 3 } };

describe('per-episode act options', () => {
  it('evaluate: every act call of episode i gets the options of its seed', async () => {
    const p = recorder();
    await evaluate(p, { ...base, episodes: 2, seed: 10, actOptions: (seed) => ({ goal: Float32Array.of(seed) }) });
    expect(p.seen).toEqual([[10], [10], [10], [11], [11], [11]]);
  });

  it('evaluateVec: goals are stacked one row per env', async () => {
    const p = recorder();
    await evaluateVec(p, { ...base, episodes: 2, seed: 20, numEnvs: 2, actOptions: (seed) => ({ goal: Float32Array.of(seed) }) });
    expect(p.seen[0]).toEqual([20, 21]);
  });

  it('evaluateEpisodes: given starts, stacked goals, and a non-finite action ends only that episode, as a failure', () => {
    const p = recorder();
    const eps = evaluateEpisodes(p, { ...base, seeds: [5, 7, 9], actOptions: (seed) => ({ goal: Float32Array.of(seed === 7 ? -1 : seed), guidance: 2 }) });
    expect(p.seen[0]).toEqual([5, -1, 9]);
    expect(eps.map((e) => e.seed)).toEqual([5, 7, 9]);
    expect(eps.map((e) => e.nonFinite)).toEqual([false, true, false]);
    expect(eps[1]!.success).toBe(false);
    expect(eps[1]!.length).toBe(0);
    expect(eps[0]!.length).toBe(3);
  });

  it('evaluateEpisodes refuses options that differ between episodes beyond the goal', () => {
    const p = recorder();
    expect(() => evaluateEpisodes(p, { ...base, seeds: [1, 2], actOptions: (seed) => ({ guidance: seed }) })).toThrow(/must be the same for every episode/);
  });
});
