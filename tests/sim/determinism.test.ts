/** Same seed ⇒ same final state hash, across two separate Node processes (the real CLI). */
import { describe, expect, it } from 'vitest';
import { strideAsync as stride } from '../helpers.ts';

describe('cross-process determinism', () => {
  it('two processes give identical final hashes for the same seed, different ones for another seed', async () => {
    const run = async (seed: number, policy: string) => {
      const r = await stride(['rollout', '--scene', 'toy/point_reach', '--policy', policy, '--episodes', '2', '--seed', String(seed), '--json']);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { episodes: { finalStateHash: string; return: number }[] };
    };
    const [a, b, c] = await Promise.all([run(5, 'random'), run(5, 'random'), run(6, 'random')]);
    expect(a.episodes.map((e) => e.finalStateHash)).toEqual(b.episodes.map((e) => e.finalStateHash));
    expect(a.episodes.map((e) => e.return)).toEqual(b.episodes.map((e) => e.return));
    expect(c.episodes[0]!.finalStateHash).not.toBe(a.episodes[0]!.finalStateHash);
    // Episode 1 of seed 5 is episode 0 of seed 6.
    expect(c.episodes[0]!.finalStateHash).toBe(a.episodes[1]!.finalStateHash);
  }, 400_000);
});
