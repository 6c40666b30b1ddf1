/** Smoke tests of the real `stride` command: help, scenes, rollout, bench sim, bad input. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listMethods } from '../../policies/registry.ts';
import { ROOT, strideAsync as stride } from '../helpers.ts';

describe('stride CLI', { timeout: 400_000 }, () => {
  it('--help lists the commands', async () => {
    const r = await stride(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['scenes', 'rollout', 'bench']) expect(r.stdout).toContain(c);
  });

  it('--version prints the version and the commit; train --help names every registered method', async () => {
    const v = await stride(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^stride \d+\.\d+\.\d+ \(commit ([0-9a-f]{40}|unknown)\)$/);
    const h = await stride(['train', '--help']);
    expect(h.code).toBe(0);
    for (const m of listMethods()) expect(h.stdout).toContain(m);
    expect(listMethods()).toContain('beso');
  });

  it('a progress bar on a terminal (once work runs > 1 s), plain lines when stderr is not a terminal', () => {
    const args = ['rollout', '--scene', 'humanoid/walk', '--policy', 'random', '--episodes', '50', '--seed', '0'];
    // `script` runs the command on a pseudo-terminal (util-linux).
    const tty = spawnSync('script', ['-qec', [process.execPath, join(ROOT, 'bin', 'stride.js'), ...args].join(' '), '/dev/null'], { encoding: 'utf8' });
    expect(tty.status, tty.stderr).toBe(0);
    expect(tty.stdout).toMatch(/rollout \|[█░]+\| \d+\/50 episodes \| success/);
    expect(tty.stdout).not.toMatch(/episode 5 seed 5/);
    const piped = spawnSync(process.execPath, [join(ROOT, 'bin', 'stride.js'), ...args], { encoding: 'utf8' });
    expect(piped.status).toBe(0);
    expect(piped.stdout + piped.stderr).not.toMatch(/[█░]/);
    expect(piped.stdout).toMatch(/episode 5 seed 5: return/);
    expect(piped.stdout).toMatch(/success \d+\.\d% \(95% CI \d+\.\d–\d+\.\d%\) over 50 episodes/);
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
