/** Smoke tests of the real `stride` command: help, scenes, rollout, bench sim, bad input. */
import { describe, expect, it } from 'vitest';
import { strideAsync as stride } from '../helpers.ts';

describe('stride CLI', { timeout: 400_000 }, () => {
  it('--help lists the commands', async () => {
    const r = await stride(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['scenes', 'rollout', 'bench']) expect(r.stdout).toContain(c);
  });

  it('scenes --json lists toy/point_reach with its features', async () => {
    const r = await stride(['scenes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const toy = out.scenes.find((s: { id: string }) => s.id === 'toy/point_reach');
    expect(toy.observation['observation.state']).toEqual([6]);
    expect(toy.action.action).toEqual([2]);
  });

  it('rollout --json has the documented shape and the expert succeeds', async () => {
    const r = await stride(['rollout', '--scene', 'toy/point_reach', '--policy', 'expert', '--episodes', '3', '--seed', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.scene).toBe('toy/point_reach');
    expect(out.seed).toBe(2);
    expect(out.episodes).toHaveLength(3);
    for (const [i, e] of out.episodes.entries()) {
      expect(e.seed).toBe(2 + i);
      expect(e.success).toBe(true);
      expect(e.length).toBeGreaterThan(0);
      expect(typeof e.return).toBe('number');
      expect(e.finalStateHash).toMatch(/^[0-9a-f]{64}$/);
      expect(e.metrics).toHaveProperty('reward/progress');
    }
  });

  it('bad input: unknown scene, unknown policy, bad numbers, unknown override ⇒ one line on stderr, non-zero exit', async () => {
    const cases: [string[], RegExp][] = [
      [['rollout', '--scene', 'toy/nope'], /unknown scene 'toy\/nope'/],
      [['rollout', '--scene', 'toy/point_reach', '--policy', 'wizard'], /unknown policy 'wizard'/],
      [['rollout', '--scene', 'toy/point_reach', '--episodes', 'x'], /--episodes must be an integer/],
      [['rollout', '--scene', 'toy/point_reach', '--set', 'nope=1'], /unknown option 'nope'/],
      [['bench', 'sim', '--scene', 'toy/nope', '--json'], /unknown scene/],
    ];
    for (const [args, re] of cases) {
      const r = await stride(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(re);
      expect(r.stdout).toBe('');
    }
  });

  it('bench sim --json prints the documented shape on stdout only', async () => {
    const r = await stride(['bench', 'sim', '--scene', 'toy/point_reach', '--seconds', '0.05', '--rounds', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const s = out.scenes['toy/point_reach'];
    for (const k of ['envStepsPerSec', 'substeps', 'physicsStepsPerSec', 'rawStepsPerSec', 'overheadRatio', 'realtimeFactor']) expect(s[k]).toBeGreaterThan(0);
    expect(s.substeps).toBe(5);
    expect(s.physicsStepsPerSec).toBeCloseTo(s.envStepsPerSec * 5, 0);
    expect(out.vec.workers).toBe(2);
    expect(out.vec.scaling).toBeCloseTo(out.vec.envStepsPerSec2 / out.vec.envStepsPerSec1, 2);
  });
});
