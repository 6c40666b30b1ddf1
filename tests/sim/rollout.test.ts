/**
 * sim/core/rollout.ts: the async episode loop counts exactly like the sync one (same summary, same hook order), for an
 * actor (Policy-like: reset once, act per step) and for an async action-source factory; EpisodeTally's reason override.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initPhysics } from '../../sim/physics/index.ts';
import { makeEnv } from '../../scenes/index.ts';
import { EpisodeTally, runEpisode, runEpisodeAsync, type EpisodeHooks } from '../../sim/core/rollout.ts';
import type { SceneEnv } from '../../sim/core/scene_env.ts';

beforeAll(async () => { await initPhysics(); });

/** Hooks that log the call order. */
function logHooks(log: string[]): EpisodeHooks {
  return { onReset: () => log.push('reset'), onStep: (t, _a, r) => log.push(`step ${t} ${r.reward.toFixed(6)}`) };
}

describe('runEpisodeAsync', () => {
  it('an async action source gives the same summary and hook calls as runEpisode', async () => {
    const env = makeEnv('toy/point_reach');
    const logSync: string[] = [], logAsync: string[] = [];
    const sync = runEpisode(env, 7, (e) => { const x = e.expert(); return () => x.act(); }, logHooks(logSync));
    const asyncEp = await runEpisodeAsync(env, 7, (e) => { const x = e.expert(); return async () => x.act(); }, logHooks(logAsync));
    expect(asyncEp).toEqual(sync);
    expect(logAsync).toEqual(logSync);
    expect(logSync[0]).toBe('reset');
    expect(logSync.length).toBe(sync.length + 1);
    expect(Object.keys(sync.metrics).some((k) => k.startsWith('reward/'))).toBe(true);
    env.dispose();
  });

  it('an actor (Policy-like) is reset once per episode, after the env reset; summaries equal the sync loop', async () => {
    const env = makeEnv('toy/point_reach');
    let resets = 0, acts = 0;
    let expert: ReturnType<SceneEnv['expert']> | null = null;
    const actor = {
      reset() { resets++; expert = env.expert(); },
      async act() { acts++; return expert!.act(); },
    };
    for (const seed of [1, 2]) {
      const ep = await runEpisodeAsync(env, seed, actor);
      const ref = runEpisode(env, seed, (e) => { const x = e.expert(); return () => x.act(); });
      expect(ep).toEqual(ref);
    }
    expect(resets).toBe(2);
    expect(acts).toBeGreaterThan(2);
    env.dispose();
  });
});

describe('EpisodeTally', () => {
  it('summary(reason) overrides the end reason (a stopped live episode)', () => {
    const env = makeEnv('toy/point_reach');
    let { obs } = env.reset({ seed: 0 });
    const x = env.expert();
    const tally = new EpisodeTally();
    for (let t = 0; t < 3; t++) { const r = env.step(x.act()); obs = r.obs; tally.add(r); }
    expect(obs).toBeDefined();
    const s = tally.summary(env, 0, 'stopped');
    expect(s.reason).toBe('stopped');
    expect(s.length).toBe(3);
    expect(tally.summary(env, 0).reason).toBe('time-limit');
    env.dispose();
  });
});
