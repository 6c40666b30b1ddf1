/**
 * manip/block_push (the BESO study's task): scene contract, the planar expert is Markovian (its action is a function
 * of the observation and the episode's plan) and succeeds on ≥ 95% of held-out starts, and every demonstration
 * recorded the study's way ends *at* its goal. Real Rapier throughout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initPhysics } from '../../sim/physics/index.ts';
import { makeEnv } from '../../scenes/index.ts';
import { OBS_OBJECT, checkEnv, runEpisode, type Observation } from '../../sim/core/index.ts';
import { readDataset } from '../../sim/data/dataset.ts';
import { recordExpertEpisodes } from '../../sim/data/demos.ts';
import { blockPushExpertAction, defaultConfig, type BlockPushPlan } from '../../scenes/manipulation/block_push.ts';

const ID = 'manip/block_push';
const tmp = mkdtempSync(path.join(tmpdir(), 'block-push-'));
beforeAll(async () => { await initPhysics(); });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('manip/block_push', () => {
  it('passes the scene contract', () => {
    checkEnv(() => makeEnv(ID), { seed: 3, steps: 30 });
  });

  it('the expert is Markovian: every action it takes is blockPushExpertAction(observation, plan)', () => {
    const cfg = defaultConfig(), env = makeEnv(ID);
    try {
      for (const seed of [1_000_000, 1_000_001, 1_000_002, 1_000_003]) {
        let obs = env.reset({ seed }).obs;
        const ex = env.expert();
        const l = ex.labels() as Record<string, number>;
        const first = l.firstBlock!, zoneOf = l.assignment === 0 ? [0, 1] : [1, 0];
        const plan: BlockPushPlan = { zoneOf, order: [first, 1 - first] };
        for (let t = 0; t < 120; t++) {
          const a = ex.act();
          // the same observation reached by any history gives the same action: only (obs, plan) enter
          const again = blockPushExpertAction(cfg, { ...obs } as Observation, plan);
          expect(Array.from(again)).toEqual(Array.from(a));
          const r = env.step(a);
          obs = r.obs;
          if (r.terminated || r.truncated) break;
        }
      }
    } finally { env.dispose(); }
  });

  it('the expert succeeds on ≥ 95% of 40 held-out starts', () => {
    const env = makeEnv(ID);
    let ok = 0;
    try {
      for (let i = 0; i < 40; i++) {
        const ep = runEpisode(env, 1_000_000 + i, (e) => { const x = e.expert(); return () => x.act(); });
        if (ep.success) ok++;
      }
    } finally { env.dispose(); }
    expect(ok / 40).toBeGreaterThanOrEqual(0.95);
  });

  it('every demonstration recorded the study way ends at its goal (final frame within the expert tolerance)', async () => {
    const cfg = defaultConfig(), out = path.join(tmp, 'demos');
    recordExpertEpisodes({ sceneId: ID, overrides: { successTolM: cfg.expertDoneTolM } }, { seeds: Array.from({ length: 12 }, (_, i) => i), keys: ['observation.state', OBS_OBJECT], out, finalFrame: true, keep: (ep) => ep.success });
    const ds = await readDataset(out);
    expect(ds.info.numEpisodes).toBeGreaterThanOrEqual(10);
    let s = 0;
    ds.episodes.forEach((e, i) => {
      const end = ds.episodeEnds[i]!, o = ds.columns[OBS_OBJECT]!;
      const zoneOf = Number(e.labels.assignment) === 0 ? [0, 1] : [1, 0];
      for (let b = 0; b < 2; b++) {
        const [zx, zz] = cfg.zonesXZ[zoneOf[b]!]!;
        expect(Math.hypot(o[(end - 1) * 4 + 2 * b]! - zx, o[(end - 1) * 4 + 2 * b + 1]! - zz)).toBeLessThan(cfg.expertDoneTolM);
      }
      // the hold action recorded with the final frame
      expect(Math.abs(ds.columns.action![(end - 1) * 2]!) + Math.abs(ds.columns.action![(end - 1) * 2 + 1]!)).toBe(0);
      s = end;
    });
    expect(s).toBe(ds.info.numFrames);
  });

  it('Result counts blocks that ever entered their own zone; Reward any zone; both are 0, ½ or 1', () => {
    const env = makeEnv(ID);
    try {
      const ep = runEpisode(env, 1_000_005, (e) => { const x = e.expert(); return () => x.act(); });
      expect(ep.success).toBe(true);
      expect(ep.metrics.result).toBe(1);
      expect(ep.metrics.reward).toBe(1);
      const z = runEpisode(env, 1_000_005, () => () => Float32Array.of(0, 0));
      expect(z.metrics.result).toBe(0);
      expect(z.metrics.firstBlock).toBe(-1);
    } finally { env.dispose(); }
  });
});
