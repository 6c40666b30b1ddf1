/** Vector envs: worker results equal sync results, seeding seed + i, autoreset modes, bad input. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initPhysics } from '../../sim/physics/index.ts';
import '../../scenes/index.ts';
import { makeEnv, runEpisode, OBS_STATE } from '../../sim/core/index.ts';
import { SyncVecEnv, WorkerVecEnv, type VecEnv } from '../../sim/vec/index.ts';
import { Rng } from '../../sim/math/rng.ts';

beforeAll(async () => { await initPhysics(); });
const open: VecEnv[] = [];
afterAll(async () => { await Promise.all(open.map((v) => v.close())); });

const ID = 'toy/point_reach';

async function trace(v: VecEnv, steps: number, seed: number) {
  const rng = new Rng(seed);
  const first = await v.reset(seed);
  const obs0 = Array.from(first.obs[OBS_STATE]!);
  const rewards: number[] = [], flags: number[] = [], episodes: unknown[] = [];
  for (let t = 0; t < steps; t++) {
    const a = Float32Array.from({ length: v.numEnvs * v.actionSize }, () => rng.uniform(-1, 1));
    const r = await v.step(a);
    rewards.push(...r.rewards); flags.push(...r.terminated, ...r.truncated); episodes.push(...r.episodes);
  }
  return { obs0, rewards, flags, episodes };
}

describe('vector envs', () => {
  it('env i is seeded seed + i', async () => {
    const v = new SyncVecEnv({ sceneId: ID, numEnvs: 3 });
    open.push(v);
    const { obs } = await v.reset(40);
    for (let i = 0; i < 3; i++) {
      const e = makeEnv(ID);
      const o = e.reset({ seed: 40 + i }).obs[OBS_STATE]!;
      expect(Array.from(obs[OBS_STATE]!.subarray(i * 6, i * 6 + 6))).toEqual(Array.from(o));
      e.dispose();
    }
  });

  it('WorkerVecEnv over 2 workers gives exactly the SyncVecEnv results, autoresets included', async () => {
    const sync = new SyncVecEnv({ sceneId: ID, numEnvs: 5 });
    const work = await WorkerVecEnv.create({ sceneId: ID, numEnvs: 5, numWorkers: 2 });
    open.push(sync, work);
    const a = await trace(sync, 150, 3);
    const b = await trace(work, 150, 3);
    expect(b.obs0).toEqual(a.obs0);
    expect(b.rewards).toEqual(a.rewards);
    expect(b.flags).toEqual(a.flags);
    expect(b.episodes).toEqual(a.episodes);
    expect(a.episodes.length).toBeGreaterThanOrEqual(5); // 100-step time limit ⇒ every env finished at least once
  });

  it("'next-step' autoreset: the step after an end returns the next episode's reset obs, reward 0; seeds advance by numEnvs", async () => {
    const v = new SyncVecEnv({ sceneId: ID, numEnvs: 2, overrides: { maxSteps: 3 } });
    open.push(v);
    await v.reset(10);
    const zero = new Float32Array(4);
    let r = await v.step(zero); r = await v.step(zero); r = await v.step(zero);
    expect(Array.from(r.truncated)).toEqual([1, 1]);
    expect(r.episodes.map((e) => e.seed)).toEqual([10, 11]);
    r = await v.step(zero);
    expect(Array.from(r.rewards)).toEqual([0, 0]);
    expect(Array.from(r.truncated)).toEqual([0, 0]);
    const e = makeEnv(ID, { maxSteps: 3 });
    expect(Array.from(r.obs[OBS_STATE]!.subarray(0, 6))).toEqual(Array.from(e.reset({ seed: 12 }).obs[OBS_STATE]!));
    e.dispose();
  });

  it("'same-step' autoreset returns the terminal obs in finalObs and the reset obs in obs", async () => {
    const v = new SyncVecEnv({ sceneId: ID, numEnvs: 1, overrides: { maxSteps: 2 }, autoresetMode: 'same-step' });
    open.push(v);
    await v.reset(0);
    await v.step(new Float32Array(2));
    const r = await v.step(new Float32Array(2));
    expect(r.truncated[0]).toBe(1);
    expect(r.finalObs[0]).not.toBeNull();
    const e = makeEnv(ID, { maxSteps: 2 });
    expect(Array.from(r.obs[OBS_STATE]!)).toEqual(Array.from(e.reset({ seed: 1 }).obs[OBS_STATE]!));
    e.dispose();
  });

  it('episode summaries match single-env rollouts', async () => {
    const v = await WorkerVecEnv.create({ sceneId: ID, numEnvs: 2, numWorkers: 2 });
    open.push(v);
    await v.reset(7);
    const eps = [];
    while (eps.length < 2) eps.push(...(await v.step(new Float32Array(4).fill(0.25))).episodes);
    const e = makeEnv(ID);
    const ref = runEpisode(e, 7, () => () => Float32Array.of(0.25, 0.25));
    e.dispose();
    const e7 = eps.find((x) => x.seed === 7)!;
    expect(e7.return).toBeCloseTo(ref.return, 10);
    expect(e7.length).toBe(ref.length);
  });

  it('rejects wrong-size actions', async () => {
    const v = new SyncVecEnv({ sceneId: ID, numEnvs: 2 });
    open.push(v);
    await v.reset(0);
    await expect(v.step(new Float32Array(3))).rejects.toThrow(/expected 2 × 2/);
    expect(() => new SyncVecEnv({ sceneId: 'nope', numEnvs: 2 })).toThrow(/unknown scene 'nope'/);
  });
});
