/**
 * The study harness itself: protocols with overlapping splits are refused, starts are per model seed and paired,
 * claims at the floor and claims after a failed floor guard are `met: null`, ratio intervals come from the bootstrap,
 * and a study cut off mid-way resumes from its cache with identical numbers. Cells are real Rapier episodes
 * (tests/experiments/fixtures/tiny_cell.ts).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decideClaims, floorGuard, summarizeArms, type ArmRun } from '../../experiments/harness/claims.ts';
import { startsFor, validateProtocol, type Protocol } from '../../experiments/harness/protocol.ts';
import { besoProtocol, fullBudget } from '../../experiments/beso/protocol.ts';
import { runStudy, type StudyDef } from '../../experiments/harness/study.ts';
import { newcombe, pairedRatioCi } from '../../sim/math/stats.ts';
import type { TinyInput } from './fixtures/tiny_cell.ts';

const CELL = fileURLToPath(new URL('./fixtures/tiny_cell.ts', import.meta.url));
const tmp = mkdtempSync(path.join(tmpdir(), 'harness-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function protocol(over: Partial<Protocol> = {}): Protocol {
  return {
    name: 'tiny', title: 'tiny study', paper: 'none',
    splits: { train: { start: 0, count: 10 }, validation: { start: 100, count: 20 }, heldOut: { start: 1000, count: 40 } },
    modelSeeds: [0, 1], episodesPerSeed: 5,
    arms: [
      { id: 'expert', method: 'builtin', settings: { policy: 'expert' } },
      { id: 'random', method: 'builtin', settings: { policy: 'random' } },
      { id: 'zero', method: 'builtin', settings: { policy: 'zero' } },
      { id: 'expert/val', method: 'builtin', settings: { policy: 'expert' }, split: 'validation' },
    ],
    budget: { steps: 1 },
    claims: [
      { id: 'expert-beats-random', statement: 'The expert beats random.', paperValue: '-', source: 'R', comparison: { kind: 'difference', a: 'expert', b: 'random', metric: 'success', op: '>', value: 0.3, ciBeyond: true } },
      { id: 'random-vs-zero', statement: 'Random is as good as zero.', paperValue: '-', source: 'R', comparison: { kind: 'difference', a: 'random', b: 'zero', metric: 'success', op: '>=', value: 0 } },
      { id: 'ratio', statement: 'Expert over itself.', paperValue: '-', source: 'R', comparison: { kind: 'ratio', a: 'expert', b: 'expert/val', metric: 'success', op: '>=', value: 0.8 } },
    ],
    floorGuard: { arm: 'expert/val', metric: 'success', minRate: 0.5, split: 'validation' },
    floorRate: 0.1, simplifications: [],
    ...over,
  };
}

function tinyDef(p: Protocol): StudyDef<TinyInput> {
  return {
    protocol: p, cellModule: CELL,
    prepare: async () => ({}),
    cells: () => p.modelSeeds.map((seed, seedIndex) => ({ id: `m-s${seed}`, slice: { seed, arms: p.arms, splits: p.splits }, input: { protocol: p, arms: p.arms, seed, seedIndex } })),
    text: { setting: 'test', metrics: { success: 'reached', long: '≥ 20 steps' } },
  };
}

const quiet = { log: () => {}, command: 'test', workers: 2, mode: 'quick' as const };

describe('protocol', () => {
  it('refuses overlapping seed splits, unknown arms and too few starts', () => {
    expect(() => validateProtocol(protocol())).not.toThrow();
    expect(() => validateProtocol(protocol({ splits: { train: { start: 0, count: 10 }, validation: { start: 5, count: 20 }, heldOut: { start: 1000, count: 40 } } }))).toThrow(/train \[0, 10\) and validation \[5, 25\) overlap/);
    expect(() => validateProtocol(protocol({ floorGuard: { arm: 'nope', metric: 'success', minRate: 0.1, split: 'validation' } }))).toThrow(/unknown arm 'nope'/);
    expect(() => validateProtocol(protocol({ episodesPerSeed: 30 }))).toThrow(/needs 30 × 2 starts/);
  });

  it('gives every model seed its own block of starts, the same for every arm', () => {
    const p = protocol();
    expect(startsFor(p, 'heldOut', 0, 5)).toEqual([1000, 1001, 1002, 1003, 1004]);
    expect(startsFor(p, 'heldOut', 1, 5)).toEqual([1005, 1006, 1007, 1008, 1009]);
    expect(() => startsFor(p, 'validation', 4, 5)).toThrow(/split validation has 20 seeds/);
  });
});

describe('claims', () => {
  const p = protocol();
  const runs = (rates: Record<string, number[][]>): ArmRun[] => Object.entries(rates).flatMap(([arm, perSeed]) =>
    perSeed.map((xs, seedIndex) => ({ arm, method: 'builtin', seed: seedIndex, seedIndex, episodes: xs.map((v, i) => ({ start: 1000 + seedIndex * 5 + i, success: v, long: 0 })) })));

  it('a comparison at the floor is not decided; a failed floor guard makes every claim null and the verdict says so', () => {
    const r = runs({ expert: [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]], random: [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0]], zero: [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0]], 'expert/val': [[1, 1, 1, 1, 1], [1, 1, 1, 1, 1]] });
    const arms = summarizeArms(p, r);
    const g = floorGuard(p, arms);
    expect(g.passed).toBe(true);
    const c = decideClaims(p, r, arms, g);
    expect(c.find((x) => x.id === 'random-vs-zero')!.met).toBeNull();
    expect(c.find((x) => x.id === 'random-vs-zero')!.undecided).toMatch(/below the floor/);
    expect(c.find((x) => x.id === 'expert-beats-random')!.met).toBe(true);
    const failed = { ...g, passed: false, rate: 0 };
    const all = decideClaims(p, r, arms, failed);
    expect(all.every((x) => x.met === null)).toBe(true);
    expect(all[0]!.undecided).toMatch(/floor guard failed/);
  });

  it('a ratio claim carries the paired cluster-bootstrap interval, not a rate interval', () => {
    const a = [[1, 1, 0, 1, 1], [1, 0, 1, 1, 1]], b = [[1, 1, 1, 1, 1], [1, 1, 0, 1, 1]];
    const r = runs({ expert: a, random: [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0]], zero: [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0]], 'expert/val': b });
    const arms = summarizeArms(p, r);
    const c = decideClaims(p, r, arms, floorGuard(p, arms)).find((x) => x.id === 'ratio')!;
    const boot = pairedRatioCi(a, b, { reps: 2000, seed: 12345 });
    expect(c.interval).toBe('bootstrap');
    expect(c.measured).toBeCloseTo(8 / 9, 12);
    expect(c.ci95).toEqual(boot.ci);
    expect(c.ci95).not.toEqual(arms.expert!.metrics.success!.pooled.ci95);
    expect(c.met).toBe(true);
  });

  it('meanDifference: the mean of the pairs\' differences, Newcombe intervals combined by MOVER, a paired bootstrap', () => {
    const pm: Protocol = { ...p, claims: [{ id: 'mean', statement: 'mean gap', paperValue: '-', source: 'R', comparison: { kind: 'meanDifference', pairs: [['expert', 'random'], ['zero', 'random']], metric: 'success', op: '>=', value: 0.3 } }] };
    const r = runs({ expert: [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]], random: [[0, 1, 0, 0, 0], [0, 0, 0, 0, 0]], zero: [[1, 0, 1, 0, 0], [0, 1, 0, 0, 0]], 'expert/val': [[1, 1, 1, 1, 1], [1, 1, 1, 1, 1]] });
    const arms = summarizeArms(pm, r);
    const c = decideClaims(pm, r, arms, floorGuard(pm, arms))[0]!;
    const d1 = 0.9 - 0.1, d2 = 0.3 - 0.1;
    expect(c.measured).toBeCloseTo((d1 + d2) / 2, 12);
    const n1 = newcombe(arms.expert!.metrics.success!.pooled, arms.random!.metrics.success!.pooled), n2 = newcombe(arms.zero!.metrics.success!.pooled, arms.random!.metrics.success!.pooled);
    expect(c.ci95[0]).toBeCloseTo((d1 + d2) / 2 - Math.sqrt((d1 - n1[0]) ** 2 + (d2 - n2[0]) ** 2) / 2, 12);
    expect(c.ci95[1]).toBeCloseTo((d1 + d2) / 2 + Math.sqrt((n1[1] - d1) ** 2 + (n2[1] - d2) ** 2) / 2, 12);
    expect(c.interval).toBe('newcombe-mover');
    expect(c.ci95Paired![0]).toBeLessThanOrEqual(c.measured);
    expect(c.met).toBe(true);
    const strict = { ...pm, claims: [{ ...pm.claims[0]!, comparison: { ...(pm.claims[0]!.comparison as object), value: 0.6 } as Protocol['claims'][number]['comparison'] }] };
    expect(decideClaims(strict, r, arms, floorGuard(strict, arms))[0]!.met).toBe(false);
  });

  it('median claims read a numeric outcome; a floor guard with several checks fails when any does', () => {
    const pm: Protocol = { ...p, claims: [{ id: 'med', statement: 'small', paperValue: '-', source: 'R', comparison: { kind: 'median', arm: 'expert', metric: 'ratio', op: '<', value: 0.5 } }],
      floorGuard: { ...p.floorGuard, and: [{ arm: 'random', metric: 'success', minRate: 0.25, split: 'heldOut' }] } };
    const mk = (arm: string, seedIndex: number, xs: number[]): ArmRun => ({ arm, method: 'x', seed: seedIndex, seedIndex, episodes: xs.map((v, i) => ({ start: i, success: v > 0.3 ? 1 : 0, ratio: v })) });
    const r = [mk('expert', 0, [0.1, 0.2, 0.9]), mk('expert', 1, [0.3, 0.4, 2]), mk('random', 0, [0, 0, 0]), mk('random', 1, [0, 0, 0]), mk('expert/val', 0, [1, 1, 1]), mk('expert/val', 1, [1, 1, 1])];
    const arms = summarizeArms(pm, r);
    const g = floorGuard(pm, arms);
    expect(g.checks.map((x) => x.passed)).toEqual([true, false]);
    expect(g.passed).toBe(false);
    const c = decideClaims(pm, r, arms, g)[0]!;
    expect(c.measured).toBeCloseTo(0.35, 12);
    expect(c.met).toBeNull();
    expect(c.undecided).toMatch(/floor guard failed \(random success 0\.0% < 25\.0% on heldOut\)/);
    const ok = { ...pm, floorGuard: p.floorGuard };
    expect(decideClaims(ok, r, arms, floorGuard(ok, arms))[0]!.met).toBe(true);
  });

  it('mode claims are judged per model', () => {
    const pm: Protocol = { ...p, claims: [{ id: 'both', statement: 'both modes', paperValue: '-', source: 'R', comparison: { kind: 'modes', arm: 'expert', modes: ['a', 'b'], expect: 'both', minShare: 0.25, models: 'all' } }] };
    const mk = (seedIndex: number, a: number[], b: number[]): ArmRun => ({ arm: 'expert', method: 'x', seed: seedIndex, seedIndex, episodes: a.map((v, i) => ({ start: i, a: v, b: b[i]!, success: 1 })) });
    // Pooled, the two models give 50/50; alone, each collapsed onto one mode.
    const r = [mk(0, [1, 1, 1, 1], [0, 0, 0, 0]), mk(1, [0, 0, 0, 0], [1, 1, 1, 1]), ...runs({ 'expert/val': [[1, 1, 1, 1, 1], [1, 1, 1, 1, 1]] })];
    const arms = summarizeArms(pm, r);
    const c = decideClaims(pm, r, arms, floorGuard(pm, arms))[0]!;
    expect(c.perModel!.map((m) => m.has)).toEqual([false, false]);
    expect(c.met).toBe(false);

    // 'collapse': a model stuck between the modes (chooses neither) averages them; one with both modes does not.
    const pc: Protocol = { ...pm, claims: [{ id: 'collapse', statement: 'collapses', paperValue: '-', source: 'R', comparison: { kind: 'modes', arm: 'expert', modes: ['a', 'b'], expect: 'collapse', minShare: 0.25, models: 'all' } }] };
    const r2 = [mk(0, [0, 0, 0, 0], [0, 0, 0, 0]), mk(1, [1, 1, 0, 0], [0, 0, 1, 1]), ...runs({ 'expert/val': [[1, 1, 1, 1, 1], [1, 1, 1, 1, 1]] })];
    const a2 = summarizeArms(pc, r2);
    const c2 = decideClaims(pc, r2, a2, floorGuard(pc, a2))[0]!;
    expect(c2.perModel!.map((m) => m.has)).toEqual([true, false]);
    expect(c2.met).toBe(false);
    // 'both' with every model below the floor of choosing a mode is not decided.
    const r3 = [mk(0, [0, 0, 0, 0], [0, 0, 0, 0]), mk(1, [0, 0, 0, 0], [0, 0, 0, 0]), ...runs({ 'expert/val': [[1, 1, 1, 1, 1], [1, 1, 1, 1, 1]] })];
    const a3 = summarizeArms(pm, r3);
    expect(decideClaims(pm, r3, a3, floorGuard(pm, a3))[0]!.met).toBeNull();
  });
});

describe('composite claims, multi-arm floor guard, fractional outcomes', () => {
  const p = protocol();
  const runs = (rates: Record<string, number[][]>): ArmRun[] => Object.entries(rates).flatMap(([arm, perSeed]) =>
    perSeed.map((xs, seedIndex) => ({ arm, method: 'builtin', seed: seedIndex, seedIndex, episodes: xs.map((v, i) => ({ start: 1000 + seedIndex * 5 + i, success: v, long: 0 })) })));
  const base = { expert: [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]], random: [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0]], zero: [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0]], 'expert/val': [[1, 1, 1, 1, 1], [1, 1, 1, 1, 1]] };
  const yes = { kind: 'difference', a: 'expert', b: 'random', metric: 'success', op: '>', value: 0.3 } as const;
  const no = { kind: 'difference', a: 'random', b: 'expert', metric: 'success', op: '>', value: 0 } as const;
  const open = { kind: 'difference', a: 'random', b: 'zero', metric: 'success', op: '>=', value: 0 } as const; // at the floor: null

  it("'all' and 'any' are decided in three-valued logic, with every part reported", () => {
    const cases: [unknown, boolean | null][] = [
      [{ kind: 'all', of: [yes, yes] }, true], [{ kind: 'all', of: [yes, no] }, false], [{ kind: 'all', of: [yes, open] }, null], [{ kind: 'all', of: [no, open] }, false],
      [{ kind: 'any', of: [no, yes] }, true], [{ kind: 'any', of: [no, no] }, false], [{ kind: 'any', of: [no, open] }, null], [{ kind: 'any', of: [yes, open] }, true],
      [{ kind: 'all', of: [yes, { kind: 'any', of: [no, yes] }] }, true],
    ];
    const pc: Protocol = { ...p, claims: cases.map(([c], i) => ({ id: `c${i}`, statement: 's', paperValue: '-', source: 'R' as const, comparison: c as Protocol['claims'][number]['comparison'] })) };
    validateProtocol(pc);
    const r = runs(base), arms = summarizeArms(pc, r);
    const got = decideClaims(pc, r, arms, floorGuard(pc, arms));
    expect(got.map((c) => c.met)).toEqual(cases.map(([, m]) => m));
    expect(got[1]!.parts!.map((x) => x.met)).toEqual([true, false]);
    expect(got[1]!.interval).toBe('parts');
    expect(got[2]!.undecided).toMatch(/#2: every side is below the floor/);
    expect(() => validateProtocol({ ...pc, claims: [{ id: 'x', statement: 's', paperValue: '-', source: 'R', comparison: { kind: 'all', of: [{ ...yes, a: 'nope' }] } }] })).toThrow(/unknown arm 'nope'/);
  });

  it('a floor guard with alsoArms passes when any guard arm reaches the threshold, and reports each', () => {
    const pg: Protocol = { ...p, floorGuard: { arm: 'zero', alsoArms: ['expert/val'], metric: 'success', minRate: 0.5, split: 'validation' } };
    validateProtocol(pg);
    const arms = summarizeArms(pg, runs(base));
    const g = floorGuard(pg, arms);
    expect(g.passed).toBe(true);
    expect(g.arm).toBe('expert/val');
    expect(g.perArm).toEqual({ zero: { rate: 0, n: 10 }, 'expert/val': { rate: 1, n: 10 } });
    const only = floorGuard({ ...pg, floorGuard: { ...pg.floorGuard, alsoArms: ['random'] } }, arms);
    expect(only.passed).toBe(false);
  });

  it('fractional outcomes (0, ½, 1) are averaged: rate = mean, differences and Wilson bounds stay in range', () => {
    const r = runs({ ...base, expert: [[0.5, 0.5, 1, 0, 0.5], [1, 1, 0.5, 0.5, 0]] });
    const m = summarizeArms(p, r).expert!.metrics.success!;
    expect(m.pooled.rate).toBeCloseTo(5.5 / 10, 12);
    expect(m.perSeed).toEqual([0.5, 0.6]);
    expect(m.pooled.ci95[0]).toBeGreaterThanOrEqual(0);
    expect(m.pooled.ci95[1]).toBeLessThanOrEqual(1);
  });

  it('BESO claim both-modes is judged per model: one model at 3/97 makes it false although the pooled probe is 50/50', () => {
    const pb = besoProtocol({ ...fullBudget(), seeds: 2, evalEpisodes: 4, modeRollouts: 100, guardEpisodes: 4 });
    const claim = pb.claims.find((c) => c.id === 'both-modes')!;
    const pc: Protocol = { ...pb, claims: [claim] };
    const probe = (arm: string, seedIndex: number, nA: number): ArmRun => ({ arm, method: 'beso', seed: seedIndex, seedIndex, episodes: Array.from({ length: 100 }, (_, i) => ({ start: 1_000_000 + i, modeA: +(i < nA), modeB: +(i >= nA), result: 1, reward: 1 })) });
    const flat = (arm: string, seedIndex: number, v: number): ArmRun => ({ arm, method: 'x', seed: seedIndex, seedIndex, episodes: Array.from({ length: 4 }, (_, i) => ({ start: 1_000_000 + seedIndex * 4 + i, modeA: 0, modeB: 0, result: v, reward: v })) });
    const common = [flat('bc', 0, 0.2), flat('bc', 1, 0.2), flat('beso/ddim-3', 0, 0.8), flat('beso/ddim-3', 1, 0.8), probe('bc/probe', 0, 100), probe('bc/probe', 1, 100)];
    for (const g of ['beso/guard', 'dp/guard', 'bc/guard']) common.push(flat(g, 0, 1), flat(g, 1, 1));
    // model 0: 3/97, model 1: 97/3 → pooled exactly 50/50
    const r = [...common, probe('beso/probe', 0, 3), probe('beso/probe', 1, 97)];
    const arms = summarizeArms(pc, r);
    expect(arms['beso/probe']!.metrics.modeA!.pooled.rate).toBe(0.5);
    const c = decideClaims(pc, r, arms, floorGuard(pc, arms))[0]!;
    expect(c.parts![0]!.perModel!.map((m) => m.has)).toEqual([false, false]);
    expect(c.met).toBe(false);
    // both models balanced → met (BC collapsed onto one mode)
    const ok = [...common, probe('beso/probe', 0, 45), probe('beso/probe', 1, 60)];
    const arms2 = summarizeArms(pc, ok);
    expect(decideClaims(pc, ok, arms2, floorGuard(pc, arms2))[0]!.met).toBe(true);
  });
});

describe('runStudy', () => {
  it('runs real cells, writes the report, and resumes a cut-off study from its cache with identical numbers', async () => {
    const p = protocol();
    const out = path.join(tmp, 'results'), cache = path.join(tmp, 'cache');
    const first = await runStudy(tinyDef(p), { ...quiet, outDir: out, cacheDir: cache });
    expect(first.provenance.cachedCells).toBe(0);
    expect(first.floorGuard.passed).toBe(true);
    expect(first.arms.expert!.metrics.success!.pooled.n).toBe(10);
    // Model seed 1's episodes ran on its own starts.
    expect(first.runs.filter((r) => r.arm === 'expert').map((r) => r.episodes.map((e) => e.start))).toEqual([[1000, 1001, 1002, 1003, 1004], [1005, 1006, 1007, 1008, 1009]]);
    const json = JSON.parse(readFileSync(path.join(out, 'tiny.json'), 'utf8'));
    expect(json.schema).toBe('stride.study/1');
    expect(readFileSync(path.join(out, 'tiny.md'), 'utf8')).toContain('**Floor guard**');

    // Cut off: one finished cell is lost; the rerun computes only that one and ends with the same numbers.
    const cells = readdirSync(path.join(cache, 'cells'));
    expect(cells).toHaveLength(2);
    unlinkSync(path.join(cache, 'cells', cells[1]!));
    const second = await runStudy(tinyDef(p), { ...quiet, outDir: out, cacheDir: cache });
    expect(second.provenance.cachedCells).toBe(1);
    expect(second.arms).toEqual(first.arms);
    expect(second.claims).toEqual(first.claims);
    expect(second.runs).toEqual(first.runs);
    expect(existsSync(path.join(cache, 'cells', cells[1]!))).toBe(true);

    // A failed floor guard (random on validation cannot reach 50%) leaves every claim undecided, and says so.
    const q = protocol({ name: 'tiny-floor', arms: [...p.arms, { id: 'random/val', method: 'builtin', settings: { policy: 'random' }, split: 'validation' }], floorGuard: { arm: 'random/val', metric: 'success', minRate: 0.5, split: 'validation' } });
    const third = await runStudy(tinyDef(q), { ...quiet, outDir: out, cacheDir: path.join(tmp, 'cache2') });
    expect(third.floorGuard.passed).toBe(false);
    expect(third.claims.every((c) => c.met === null)).toBe(true);
    expect(third.verdict).toMatch(/floor guard failed/);

    // Staged cells with a guard stage: a failed guard after stage 0 stops the study; stage 1 never runs.
    const staged: StudyDef<TinyInput> = { ...tinyDef(q), guardStage: 0, cells: () => tinyDef(q).cells({}).map((c, i) => ({ ...c, stage: i })) };
    const logs: string[] = [];
    const fourth = await runStudy(staged, { ...quiet, log: (l) => logs.push(l), outDir: out, cacheDir: path.join(tmp, 'cache3') });
    expect(fourth.cells.map((c) => c.id)).toEqual(['m-s0']);
    expect(fourth.provenance.notRunCells).toBe(1);
    expect(fourth.runs.every((r) => r.seedIndex === 0)).toBe(true);
    expect(fourth.claims.every((c) => c.met === null)).toBe(true);
    expect(logs.some((l) => /later stages are not run/.test(l))).toBe(true);
    // …and with the guard passing, every stage runs, in order
    const passing: StudyDef<TinyInput> = { ...tinyDef(p), guardStage: 0, cells: () => tinyDef(p).cells({}).map((c, i) => ({ ...c, stage: i })) };
    const fifth = await runStudy(passing, { ...quiet, outDir: out, cacheDir: path.join(tmp, 'cache4') });
    expect(fifth.cells.map((c) => c.id)).toEqual(['m-s0', 'm-s1']);
    expect(fifth.arms).toEqual(first.arms);
  }, 400_000);
});
