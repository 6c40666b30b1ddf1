/**
 * Every registered scene passes checkEnv: features, no NaN, same seed ⇒ same hash, restore mid-episode + replay ⇒
 * same hash — and every one of checkEnv's named checks actually ran for every scene (an episode that ends early must
 * not skip the restore check).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initPhysics } from '../../sim/physics/index.ts';
import { allScenes, makeEnv } from '../../scenes/index.ts';
import { checkEnv, ENV_CHECKS } from '../../sim/core/index.ts';

beforeAll(async () => { await initPhysics(); });

describe('scene contract', () => {
  it('has scenes registered', () => {
    expect(allScenes.length).toBeGreaterThan(0);
  });
  for (const def of allScenes) {
    it(`${def.id} passes checkEnv`, () => {
      const r = checkEnv(() => makeEnv(def.id), { seed: 11, steps: 24 });
      expect(r.checks).toEqual([...ENV_CHECKS]);
      expect(r.steps).toBeGreaterThanOrEqual(2); // a mid-episode state existed to restore
      expect(r.finalHash).toMatch(/^[0-9a-f]{64}$/);
    });
    it(`${def.id} renders a scene description and frames`, () => {
      const env = makeEnv(def.id);
      try {
        env.reset({ seed: 1 });
        const scene = env.renderScene();
        expect(scene.visuals.length).toBeGreaterThan(0);
        const frame = env.renderFrame();
        expect(frame.poses.length).toBe(frame.ids.length * 7);
        expect(frame.poses.every(Number.isFinite)).toBe(true);
      } finally {
        env.dispose();
      }
    });
  }
});
