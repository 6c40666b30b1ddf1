/**
 * `stride experiment fdp --quick` end to end on the harness with an even smaller budget: the results file is the
 * study schema with FDP's claims (met true|false|null; null everywhere when the floor guard failed), its arms, the
 * two-check floor guard, the `lowData` rows and the parameter counts, and a second run resumes from the cached
 * cells with identical numbers. Never checks the claims themselves.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { strideAsync } from '../helpers.ts';

/** The real CLI in a child process, asynchronously (tests/helpers.ts). */
const stride = (argv: string[], timeoutMs = 120_000) => strideAsync(argv, { timeoutMs });

const tmp = mkdtempSync(path.join(tmpdir(), 'fdp-exp-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TINY = ['dataEpisodes=4', 'lowN1=2', 'lowN2=4', 'fullN=4', 'baseSteps=6', 'resSteps=4', 'jointSteps=10', 'batchSize=16', 'width=8', 'resWidth=8', 'depthFeatures=4', 'evalEpisodes=2', 'guardEpisodes=2', 'evalMaxSteps=10', 'inferSteps=2'];
const args = ['experiment', 'fdp', '--quick', '--json', '--out', path.join(tmp, 'results'), '--cache', path.join(tmp, 'cache'), ...TINY.flatMap((b) => ['--budget', b])];

describe('stride experiment fdp --quick', () => {
  it('writes well-formed claims, arms, lowData rows and the floor guard, and resumes from its cache with identical numbers', async () => {
    const r = await stride(args, 600_000);
    expect(r.stderr).not.toMatch(/stride: /);
    expect(r.code).toBe(0);
    const res = JSON.parse(readFileSync(path.join(tmp, 'results', 'fdp.json'), 'utf8'));
    expect(JSON.parse(r.stdout)).toEqual(res);
    expect(existsSync(path.join(tmp, 'results', 'fdp.md'))).toBe(true);
    expect(res.schema).toBe('stride.study/1');
    expect(res.mode).toBe('quick');
    expect(res.protocol.budget.baseSteps).toBe(6);
    expect(res.claims.map((c: { id: string }) => c.id)).toEqual(['low-data', 'shift-robust-distractors', 'shift-robust-occlusion', 'occlusion-5x', 'graceful-distractors', 'graceful-occlusion', 'graceful-jitter', 'ordering-matters-distractors', 'ordering-matters-occlusion', 'residual-small']);
    for (const c of res.claims) {
      expect([true, false, null]).toContain(c.met);
      if (!res.floorGuard.passed) expect(c.met).toBeNull();
      expect(c.ci95).toHaveLength(2);
    }
    expect(res.claims[0].interval).toBe('newcombe-mover');
    // the guard: joint DP ≥ 50 % and base ≥ 25 %, on validation starts
    expect(res.floorGuard.checks.map((g: { arm: string; minRate: number; split: string }) => [g.arm, g.minRate, g.split])).toEqual([['joint/N4/guard', 0.5, 'validation'], ['base/N4/guard', 0.25, 'validation']]);
    const conds = ['nominal', 'distractors', 'occlusion', 'jitter'];
    const want = [...['fdp', 'base', 'joint'].map((m) => `${m}/N2/nominal`), ...['fdp', 'base', 'joint', 'fdp-rev', 'fdp-out'].flatMap((m) => conds.map((c) => `${m}/N4/${c}`)), 'joint/N4/guard', 'base/N4/guard'];
    expect(Object.keys(res.arms).sort()).toEqual([...want].sort());
    for (const a of want) expect(res.arms[a].metrics.success.pooled.n).toBe(2);
    // FDP arms carry res_ratio per episode; the base's do not
    expect(res.arms['fdp/N4/nominal'].metrics.resRatio).toBeDefined();
    expect(res.arms['base/N4/nominal'].metrics.resRatio).toBeUndefined();
    // lowData rows: every N × (fdp, joint, base), nominal
    expect(res.derived.lowData.map((x: { n: number; model: string }) => `${x.model}@${x.n}`)).toEqual(['fdp@2', 'joint@2', 'base@2', 'fdp@4', 'joint@4', 'base@4']);
    for (const x of res.derived.lowData) expect(x.success.n).toBe(2);
    expect(res.derived.params.fdp).toBeGreaterThan(res.derived.params.base);
    expect(Math.abs(res.derived.params.joint - res.derived.params.fdp) / res.derived.params.fdp).toBeLessThan(0.05);
    expect(res.cells).toHaveLength(9); // (joint, base, fdp) × 2 sizes + base-rev, fdp-out, fdp-rev
    expect(readFileSync(path.join(tmp, 'results', 'fdp.md'), 'utf8')).toContain('**Floor guard**');

    // --- resume: every cell is cached, same numbers ---
    const r2 = await stride(args, 300_000);
    expect(r2.code).toBe(0);
    const res2 = JSON.parse(r2.stdout);
    expect(res2.provenance.cachedCells).toBe(9);
    expect(res2.arms).toEqual(res.arms);
    expect(res2.claims).toEqual(res.claims);
    expect(res2.runs).toEqual(res.runs);
    expect(res2.derived.lowData).toEqual(res.derived.lowData);
  }, 900_000);
});
