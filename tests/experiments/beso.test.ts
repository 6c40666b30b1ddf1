/**
 * `stride experiment beso --quick` (the Block-Push study) end to end with an even smaller budget: the results file
 * is the study schema; the floor guard names its three validation arms; every arm of a model seed ran on that seed's
 * own starts (paired), different seeds on disjoint starts; the splits are disjoint; every claim is true|false|null.
 * Never checks the claims themselves.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { strideAsync } from '../helpers.ts';
import { fullBudget, besoProtocol } from '../../experiments/beso/protocol.ts';
import { methodConfig, GOAL_DIMS, OBS_KEYS } from '../../experiments/beso/study.ts';

/** The real CLI in a child process, asynchronously (tests/helpers.ts). */
const stride = (argv: string[], timeoutMs = 120_000) => strideAsync(argv, { timeoutMs });

const tmp = mkdtempSync(path.join(tmpdir(), 'beso-bp-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TINY = ['dataEpisodes=6', 'trainSteps=8', 'batchSize=16', 'width=16', 'depth=1', 'seeds=2', 'evalEpisodes=3', 'guardEpisodes=3', 'modeRollouts=3', 'capFactor=1', 'dpLongSteps=12', 'workers=2'];

describe('the Block-Push protocol (no run)', () => {
  it('uses one temporal-consistency scheme for every method: receding horizon To 2, Tp 8, Ta 4; σ ∈ [0.05, 1] for BESO', () => {
    const b = fullBudget();
    const h = (m: string) => { const c = methodConfig(m, b) as Record<string, number>; return [c.obsHorizon, c.predHorizon, c.actionHorizon]; };
    expect(h('beso')).toEqual([2, 8, 4]);
    expect(h('diffusion')).toEqual([2, 8, 4]);
    expect(h('bc')).toEqual([2, 8, 4]);
    const bc = methodConfig('beso', b) as Record<string, number>;
    expect([bc.sigmaMin, bc.sigmaMax, bc.emaDecay]).toEqual([0.05, 1, 0.999]);
    expect((methodConfig('diffusion', b) as Record<string, number>).width).toBe((methodConfig('beso', b) as Record<string, number>).width);
    expect((methodConfig('bc', b) as { hidden: number[] }).hidden).toEqual(Array(b.depth).fill(b.width));
    expect(OBS_KEYS).toEqual(['observation.state', 'observation.object']);
    expect(GOAL_DIMS).toEqual([4, 5, 6, 7]);
  });

  it('fixes arms, claims and the floor guard before any run; every claim names known arms', () => {
    const p = besoProtocol(fullBudget());
    const ids = p.arms.map((a) => a.id);
    for (const a of ['beso/ddim-1', 'beso/ddim-3', 'beso/ddim-10', 'beso/ddim-30', 'beso/euler-3', 'beso/lambda-0', 'beso/lambda-1', 'beso/lambda-3', 'dp/ddim-10', 'dp/ddim-100', 'bc', 'beso/probe', 'dp/probe', 'bc/probe', 'beso/zone-goal']) expect(ids).toContain(a);
    expect(p.arms.filter((a) => a.split === 'validation').map((a) => a.id)).toEqual(['beso/guard', 'dp/guard', 'bc/guard']);
    expect(p.arms.filter((a) => (a.settings as { probe?: boolean }).probe).every((a) => (a.episodesPerSeed ?? 0) >= 100)).toBe(true);
    expect(p.floorGuard).toMatchObject({ arm: 'beso/guard', alsoArms: ['dp/guard', 'bc/guard'], metric: 'result', minRate: 0.5, split: 'validation' });
    expect(p.modelSeeds).toEqual(Array.from({ length: fullBudget().seeds }, (_, i) => i));
  });
});

describe('stride experiment beso --quick (Block-Push)', () => {
  it('writes a study-schema results file with the guard, paired starts and disjoint splits', async () => {
    const r = await stride(['experiment', 'beso', '--quick', '--out', path.join(tmp, 'results'), '--cache', path.join(tmp, 'cache'), ...TINY.flatMap((b) => ['--budget', b])], 500_000);
    expect(r.stderr).not.toMatch(/stride: /);
    expect(r.code).toBe(0);
    expect(existsSync(path.join(tmp, 'results', 'beso.md'))).toBe(true);
    const res = JSON.parse(readFileSync(path.join(tmp, 'results', 'beso.json'), 'utf8'));
    expect(res.schema).toBe('stride.study/1');
    expect(res.mode).toBe('quick');
    expect(res.protocol.title).toMatch(/block_push/);
    // disjoint splits
    const sp = res.protocol.splits, ranges = [sp.train, sp.validation, sp.heldOut] as { start: number; count: number }[];
    for (let i = 0; i < 3; i++) for (let j = i + 1; j < 3; j++) expect(ranges[i]!.start + ranges[i]!.count <= ranges[j]!.start || ranges[j]!.start + ranges[j]!.count <= ranges[i]!.start).toBe(true);
    // floor guard: three validation arms, the best decides
    expect(Object.keys(res.floorGuard.perArm).sort()).toEqual(['bc/guard', 'beso/guard', 'dp/guard']);
    expect(res.floorGuard.metric).toBe('result');
    expect(res.floorGuard.minRate).toBe(0.5);
    expect(res.floorGuard.split).toBe('validation');
    expect(typeof res.floorGuard.passed).toBe('boolean');
    // claims: ids fixed, met in {true, false, null}; null for all when the guard failed
    expect(res.claims.map((c: { id: string }) => c.id)).toEqual(['three-vs-thirty', 'beso-vs-ddpm', 'both-modes', 'guidance', 'play-policy', 'absolute-level']);
    for (const c of res.claims) {
      expect([true, false, null]).toContain(c.met);
      if (!res.floorGuard.passed) expect(c.met).toBeNull();
    }
    // paired starts: within a seed every arm of a split ran on the same starts; seeds never share one
    const runs = res.runs as { arm: string; seedIndex: number; episodes: { start: number; result: number; reward: number }[] }[];
    const armSplit = Object.fromEntries(res.protocol.arms.map((a: { id: string; split?: string; episodesPerSeed?: number }) => [a.id, `${a.split ?? 'heldOut'}/${a.episodesPerSeed ?? res.protocol.episodesPerSeed}`]));
    const startsBy = new Map<string, string>();
    for (const run of runs) {
      const key = `${armSplit[run.arm]}#${run.seedIndex}`, s = JSON.stringify(run.episodes.map((e) => e.start));
      if (startsBy.has(key)) expect(s).toBe(startsBy.get(key));
      else startsBy.set(key, s);
      for (const e of run.episodes) { expect([0, 0.5, 1]).toContain(e.result); expect([0, 0.5, 1]).toContain(e.reward); }
    }
    const held = runs.filter((x) => x.arm === 'beso/ddim-3');
    expect(held).toHaveLength(2);
    const s0 = new Set(held[0]!.episodes.map((e) => e.start));
    expect(held[1]!.episodes.some((e) => s0.has(e.start))).toBe(false);
    expect(held[0]!.episodes[0]!.start).toBe(sp.heldOut.start);
    expect(res.prepared.evalMaxSteps).toBe(res.prepared.maxDemoLength);
  }, 600_000);
});
