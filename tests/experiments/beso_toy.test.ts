/**
 * `stride experiment beso-toy --quick` (the toy study on toy/zone_play) end to end on the harness with an even smaller budget: the results file is the
 * study schema (protocol with disjoint splits, per-seed held-out starts, arms, claims with met true|false|null, floor
 * guard, provenance), the markdown exists, and a second run resumes from the cached cells with identical numbers.
 * Never checks the claims themselves.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { strideAsync } from '../helpers.ts';

/** The real CLI in a child process, asynchronously (tests/helpers.ts). */
const stride = (argv: string[], opts: { timeoutMs?: number } = {}) => strideAsync(argv, { timeoutMs: opts.timeoutMs ?? 120_000 });

const tmp = mkdtempSync(path.join(tmpdir(), 'beso-toy-exp-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TINY = ['dataEpisodes=6', 'trainSteps=8', 'batchSize=16', 'width=16', 'depth=1', 'seeds=1', 'evalEpisodes=3', 'modeRollouts=3', 'evalMaxSteps=12', 'dpLongSteps=12', 'workers=2'];
const args = ['experiment', 'beso-toy', '--quick', '--json', '--out', path.join(tmp, 'results'), '--cache', path.join(tmp, 'cache'), ...TINY.flatMap((b) => ['--budget', b])];

describe('stride experiment beso-toy --quick', () => {
  it('writes a study-schema results file and resumes from cached cells', async () => {
    const r = await stride(args, { timeoutMs: 400_000 });
    expect(r.stderr).not.toMatch(/stride: /);
    expect(r.code).toBe(0);
    const file = path.join(tmp, 'results', 'beso-toy.json');
    expect(existsSync(path.join(tmp, 'results', 'beso-toy.md'))).toBe(true);
    const res = JSON.parse(readFileSync(file, 'utf8'));
    expect(JSON.parse(r.stdout)).toEqual(res);
    expect(res.schema).toBe('stride.study/1');
    expect(res.mode).toBe('quick');
    expect(res.provenance.command).toContain('experiment beso-toy --quick');
    expect(typeof res.provenance.commit).toBe('string');
    expect(['wasm', 'cpu', 'tensorflow']).toContain(res.provenance.backend);
    expect(res.protocol.budget.trainSteps).toBe(8);
    const sp = res.protocol.splits;
    expect(sp.train).toEqual({ start: 0, count: 6 });
    expect(sp.validation.start).toBeGreaterThanOrEqual(sp.train.start + sp.train.count);
    expect(sp.heldOut.start).toBeGreaterThanOrEqual(sp.validation.start + sp.validation.count);

    expect(res.claims.map((c: { id: string }) => c.id)).toEqual(['three-steps-vs-thirty', 'three-steps-vs-ddpm', 'beso-both-modes', 'bc-averages-or-collapses', 'guidance-raises-goal-success', 'play-policy-completes-tasks']);
    for (const c of res.claims) {
      expect(c.statement.length).toBeGreaterThan(10);
      expect([true, false, null]).toContain(c.met);
      if (!res.floorGuard.passed) expect(c.met).toBeNull();
      expect(c.ci95).toHaveLength(2);
    }
    expect(res.claims.find((c: { id: string }) => c.id === 'play-policy-completes-tasks').interval).toBe('bootstrap');
    const want = ['beso/guard', 'beso/ddim-1', 'beso/ddim-2', 'beso/ddim-3', 'beso/ddim-5', 'beso/ddim-10', 'beso/ddim-30', 'beso/euler-3', 'beso/heun-3',
      'beso/lambda-0', 'beso/lambda-0.5', 'beso/lambda-1', 'beso/lambda-1.5', 'beso/lambda-3', 'dp/ddim-10', 'dp/ddim-12', 'bc', 'beso/probe', 'dp/probe', 'bc/probe'];
    expect(Object.keys(res.arms).sort()).toEqual([...want].sort());
    for (const arm of want) {
      const a = res.arms[arm];
      for (const k of ['success', 'anyTask', 'modeA', 'modeB']) {
        const m = a.metrics[k].pooled;
        expect(m.n).toBe(3);
        expect(m.ci95[0]).toBeLessThanOrEqual(m.rate);
        expect(m.ci95[1]).toBeGreaterThanOrEqual(m.rate);
      }
      expect(a.metrics.success.pooled.k).toBeLessThanOrEqual(a.metrics.anyTask.pooled.k); // success implies a zone was reached
    }
    // Each arm's episodes ran on the model seed's own starts of its split.
    const guard = res.runs.find((x: { arm: string }) => x.arm === 'beso/guard');
    expect(guard.episodes.map((e: { start: number }) => e.start)).toEqual([sp.validation.start, sp.validation.start + 1, sp.validation.start + 2]);
    expect(res.cells).toHaveLength(3);
    expect(readFileSync(path.join(tmp, 'results', 'beso-toy.md'), 'utf8')).toContain('**Floor guard**');

    // --- resume: every cell is cached, same numbers ---
    const r2 = await stride(args, { timeoutMs: 200_000 });
    expect(r2.code).toBe(0);
    expect(r2.stderr).toMatch(/3 cells \(3 cached\)/);
    const res2 = JSON.parse(readFileSync(file, 'utf8'));
    expect(res2.arms).toEqual(res.arms);
    expect(res2.claims).toEqual(res.claims);
  }, 600_000);

  it('rejects an unsupported --scene with a one-line error', async () => {
    const bad = await stride(['experiment', 'beso', '--scene', 'manip/play', '--quick', '--out', path.join(tmp, 'z'), '--cache', path.join(tmp, 'z')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^stride: experiment beso: unsupported --scene 'manip\/play'/);
  });

  it('rejects an unknown experiment and a bad budget key with one-line errors', async () => {
    const a = await stride(['experiment', 'nope']);
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/^stride: unknown experiment 'nope'/);
    const b = await stride(['experiment', 'beso', '--quick', '--budget', 'bogus=3', '--out', path.join(tmp, 'x'), '--cache', path.join(tmp, 'y')]);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/^stride: --budget bogus=3/);
  });
});
