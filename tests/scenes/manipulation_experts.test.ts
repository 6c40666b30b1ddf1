/** Each manipulation expert clears its bar on 20 seeded episodes (real physics, real friction grasps). */
import { beforeAll, describe, expect, it } from 'vitest';
import { initPhysics } from '../../sim/physics/index.ts';
import { makeEnv } from '../../scenes/index.ts';
import { runEpisode } from '../../sim/core/index.ts';

beforeAll(async () => { await initPhysics(); });

const EPISODES = 20;

describe('manipulation experts', () => {
  for (const id of ['manip/push_block', 'manip/pick_place', 'manip/play', 'manip/push_play']) {
    it(`${id} expert succeeds in ≥ 85% of ${EPISODES} episodes`, async () => {
      const env = makeEnv(id);
      const modes = new Set<number>();
      let successes = 0;
      try {
        for (let i = 0; i < EPISODES; i++) {
          await new Promise((r) => setImmediate(r)); // let the worker answer vitest's RPC between episodes
          let labels: Record<string, number | string> = {};
          let handle: ReturnType<typeof env.expert> | null = null;
          const ep = runEpisode(env, 100 + i, (e) => { handle = e.expert(); const h = handle; return () => h.act(); });
          labels = (handle as ReturnType<typeof env.expert> | null)?.labels() ?? {};
          if (ep.success) successes++;
          if (id === 'manip/play' || id === 'manip/push_play') {
            expect(Object.keys(labels).sort()).toEqual(['firstBlock', 'firstZone', 'mode', 'secondBlock', 'secondZone']);
            modes.add(labels.mode as number);
            if (ep.success) {
              // The blocks ended where the expert chose.
              expect(ep.metrics[`block${labels.firstBlock}Zone`]).toBe(labels.firstZone);
              expect(ep.metrics[`block${labels.secondBlock}Zone`]).toBe(labels.secondZone);
            }
          }
        }
      } finally {
        env.dispose();
      }
      expect(successes / EPISODES).toBeGreaterThanOrEqual(0.85);
      if (id !== 'manip/push_block' && id !== 'manip/pick_place') expect(modes.size).toBeGreaterThanOrEqual(3);
    }, 600_000);
  }
});
