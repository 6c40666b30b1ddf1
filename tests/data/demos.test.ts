/**
 * sim/data/demos.ts: the dataset holds the actions the env applied (clamped like SceneEnv.step — replaying them
 * reproduces every episode's final state hash), keys/seeds/success/labels options, and `stride demos` writes exactly
 * what recordExpertEpisodes writes.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initPhysics } from '../../sim/physics/index.ts';
import { loadScenes, makeEnv } from '../../scenes/index.ts';
import { ACTION, OBS_STATE } from '../../sim/core/index.ts';
import { episodeSlice, readDataset } from '../../sim/data/dataset.ts';
import { clampLikeEnv, recordExpertEpisodes } from '../../sim/data/demos.ts';
import { strideAsync } from '../helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'stride-demos-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => { await initPhysics(); await loadScenes(); });

/** Every file of a dataset folder, relative path → bytes. */
function files(root: string, sub = ''): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const e of readdirSync(join(root, sub), { withFileTypes: true })) {
    const rel = join(sub, e.name);
    if (e.isDirectory()) Object.assign(out, files(root, rel));
    else out[rel] = readFileSync(join(root, rel));
  }
  return out;
}

describe('recordExpertEpisodes', () => {
  it('records the applied (clamped) action of an expert that overshoots; replaying the dataset reproduces each episode', async () => {
    const env = makeEnv('toy/point_reach');
    const spec = env.actionFeatures[ACTION]!;
    expect(spec.low).toBeDefined();
    // An expert that emits 3× the scripted action: out of range most of the time.
    const scripted = env.expert.bind(env);
    let raw = 0, outOfRange = 0;
    env.expert = () => {
      const x = scripted();
      return {
        act: () => {
          const a = x.act().map((v) => v * 3);
          raw += a.length;
          for (const v of a) if (v < spec.low! || v > spec.high!) outOfRange++;
          return a;
        },
        labels: () => x.labels(),
      };
    };
    const out = join(dir, 'overshoot');
    const rec = recordExpertEpisodes(env, { out, seeds: [4, 9] });
    expect(outOfRange).toBeGreaterThan(0);
    const ds = await readDataset(out);
    const act = ds.columns[ACTION] as Float32Array;
    expect(act.length).toBe(raw);
    for (const v of act) {
      expect(v).toBeGreaterThanOrEqual(spec.low!);
      expect(v).toBeLessThanOrEqual(spec.high!);
    }
    // the recorded actions are what the env applied: stepping them from the same reset gives the same final state
    const replay = makeEnv('toy/point_reach');
    const A = act.length / ds.info.numFrames;
    for (let e = 0; e < 2; e++) {
      const a = episodeSlice(ds, ACTION, e) as Float32Array;
      replay.reset({ seed: ds.episodes[e]!.seed });
      for (let t = 0; t < a.length / A; t++) replay.step(a.slice(t * A, (t + 1) * A));
      expect(replay.stateHash()).toBe(rec.episodes[e]!.finalStateHash);
    }
    env.dispose();
    replay.dispose();
  });

  it('clampLikeEnv mirrors SceneEnv (bounds, in-range values untouched, length and finiteness checked)', () => {
    const f = { [ACTION]: { kind: 'action' as const, shape: [3], dtype: 'float32' as const, low: -1, high: 1 } };
    expect(Array.from(clampLikeEnv(Float32Array.of(-3, 0.25, 7), f))).toEqual([-1, 0.25, 1]);
    const inRange = Float32Array.of(0.1, -0.2, 0.3);
    expect(clampLikeEnv(inRange, f)).toEqual(inRange);
    expect(clampLikeEnv(inRange, f)).not.toBe(inRange);
    expect(() => clampLikeEnv(Float32Array.of(1, 2), f)).toThrow(/3/);
    expect(() => clampLikeEnv(Float32Array.of(NaN, 0, 0), f)).toThrow(/not finite/);
  });

  it('keeps only the asked observation keys, records a custom success and the expert labels', async () => {
    const out = join(dir, 'zone');
    const rec = recordExpertEpisodes({ sceneId: 'toy/zone_play' }, { out, episodes: 2, keys: [OBS_STATE], success: () => false });
    const ds = await readDataset(out);
    expect(Object.keys(ds.info.features)).toEqual([OBS_STATE, ACTION]);
    expect(ds.episodes.map((e) => e.seed)).toEqual([0, 1]);
    expect(ds.episodes.every((e) => !e.success)).toBe(true);
    expect(rec.successes).toBe(0);
    expect(Object.keys(ds.episodes[0]!.labels).length).toBeGreaterThan(0);
    expect(() => recordExpertEpisodes({ sceneId: 'toy/zone_play' }, { out: join(dir, 'bad'), episodes: 1, keys: ['observation.nope'] })).toThrow(/no observation feature 'observation.nope'/);
  });

  it('`stride demos` writes the same bytes as recordExpertEpisodes', async () => {
    const a = join(dir, 'lib'), b = join(dir, 'cli');
    recordExpertEpisodes({ sceneId: 'toy/point_reach' }, { out: a, episodes: 3, seed0: 5 });
    const r = await strideAsync(['demos', '--scene', 'toy/point_reach', '--episodes', '3', '--seed', '5', '--out', b, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ episodes: 3, seed: 5 });
    const fa = files(a), fb = files(b);
    expect(Object.keys(fb).sort()).toEqual(Object.keys(fa).sort());
    for (const k of Object.keys(fa)) expect(fb[k]!.equals(fa[k]!), k).toBe(true);
  }, 120_000);
});
