/**
 * What the viewer's Training/Results tabs decide to plot (electron/renderer/tables.ts: plain data, no DOM). The
 * rendering itself is covered in real Chromium by viewer.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findTables, groupRows, panelsOf, si, studyView, unitOf } from '../../electron/renderer/tables.ts';

describe('results tables', () => {
  it('an array of records becomes one chart of its numeric fields against the first', () => {
    const t = findTables({ curve: [{ demos: 40, success: 0.6 }, { demos: 10, success: 0.2 }, { demos: 20, success: 0.4 }] });
    expect(t).toHaveLength(1);
    expect(t[0]!.title).toBe('curve');
    expect(t[0]!.xLabel).toBe('demos');
    expect(t[0]!.xs).toEqual([10, 20, 40]);
    expect(t[0]!.series[0]!.ys).toEqual([0.2, 0.4, 0.6]);
  });

  it('{ arm: { rate, ci95 } } becomes bars with their 95% interval', () => {
    const t = findTables({ modes: { left: { k: 3, n: 10, rate: 0.3, ci95: [0.1, 0.6] }, right: { k: 7, n: 10, rate: 0.7, ci95: [0.4, 0.9] } } });
    expect(t).toHaveLength(1);
    expect(t[0]!.xNames).toEqual(['left', 'right']);
    expect(t[0]!.series.map((s) => s.name)).toEqual(['rate', 'ci95 low', 'ci95 high']);
    expect(t[0]!.series[2]!.ys).toEqual([0.6, 0.9]);
    expect(t[0]!.series.map((s) => s.whisker)).toEqual([undefined, 'lo', 'hi']);
  });

  it('a curve of records with a ci95 each is a line with whiskers (counts k, n left out)', () => {
    const t = findTables({ byN: [{ N: 4, k: 6, n: 10, rate: 0.6, ci95: [0.3, 0.85] }, { N: 1, k: 2, n: 10, rate: 0.2, ci95: [0.05, 0.5] }] });
    expect(t[0]!.xs).toEqual([1, 4]);
    expect(t[0]!.series.map((s) => [s.name, s.whisker])).toEqual([['rate', undefined], ['ci95 low', 'lo'], ['ci95 high', 'hi']]);
    expect(t[0]!.series[2]!.ys).toEqual([0.5, 0.85]);
  });

  it("a study's arms give one chart per metric every arm has, not one per arm or per nested record", () => {
    const r = JSON.parse(readFileSync(new URL('../../results/beso-push-play.json', import.meta.url), 'utf8'));
    const t = findTables(r);
    const titles = t.map((x) => x.title);
    expect(titles).toEqual(expect.arrayContaining(['arms · goalSuccess', 'arms · anyTask', 'arms · partialGoal', 'dataModes.middleZoneFirst']));
    expect(titles.filter((x) => x.includes('byGoalVariant') || x.includes('settings'))).toEqual([]);
    const gs = t.find((x) => x.title === 'arms · goalSuccess')!;
    expect(gs.xNames).toEqual(Object.keys(r.arms));
    expect(gs.series[0]!.ys).toEqual(Object.values(r.arms).map((a) => (a as { goalSuccess: { rate: number } }).goalSuccess.rate));
    // the viewer shows the first 12 tables of a file: the arm charts must be among them
    expect(titles.slice(0, 12)).toEqual(expect.arrayContaining(['arms · goalSuccess', 'arms · anyTask']));
  });
});

describe('metrics rows', () => {
  it('groups numeric fields by namespace against step', () => {
    const g = groupRows([{ step: 1, 'losses/a': 1, 'eval/s': 0.5, note: 'x' }, { step: 2, 'losses/a': 0.5 }]);
    expect(g.xs).toEqual([1, 2]);
    expect([...g.groups.keys()]).toEqual(['losses', 'eval']);
    expect(g.groups.get('eval')![0]!.ys).toEqual([0.5, null]);
  });
});

describe('training panels', () => {
  it('one panel per unit: a rate never shares an axis with a count or a length; its CI is a band', () => {
    const rows = [
      { step: 100, 'losses/loss': 1, 'losses/mse': 1, 'perf/samples_per_sec': 900, 'perf/workers': 4 },
      { step: 200, 'losses/loss': 0.5, 'losses/mse': 0.5, 'eval/success_rate': 0.4, 'eval/success_rate_ci95_low': 0.2, 'eval/success_rate_ci95_high': 0.6, 'eval/length_mean': 80, 'eval/return_mean': 3 },
    ];
    const { xs, panels } = panelsOf([{ name: 'a', rows }]);
    expect(xs).toEqual([100, 200]);
    const by = new Map(panels.map((p) => [p.id, p]));
    expect([...by.keys()].sort()).toEqual(['eval', 'eval · rate (0–1)', 'eval · steps', 'losses', 'perf · count', 'perf · per second']);
    expect(by.get('eval · rate (0–1)')!.yRange).toEqual([0, 1]);
    expect(by.get('eval · rate (0–1)')!.series.map((s) => s.band)).toEqual([undefined, 'lo', 'hi']);
    expect(by.get('losses')!.series.map((s) => s.name)).toEqual(['losses/loss = losses/mse']);
    expect(by.get('losses')!.logY).toBe(true);
  });
  it('compares runs on the union of their steps, every series named by its run', () => {
    const { xs, panels } = panelsOf([{ name: 'r1', rows: [{ step: 1, 'losses/loss': 2 }, { step: 3, 'losses/loss': 1 }] }, { name: 'r2', rows: [{ step: 2, 'losses/loss': 4 }] }]);
    expect(xs).toEqual([1, 2, 3]);
    expect(panels[0]!.series).toEqual([{ name: 'r1 · losses/loss', ys: [2, null, 1] }, { name: 'r2 · losses/loss', ys: [null, 4, null] }]);
  });
  it('units and SI labels', () => {
    expect(unitOf('eval/success_rate', [0, 1])).toBe('rate');
    expect(unitOf('eval/success_rate', [0, 3])).toBe('');
    expect(unitOf('perf/workers', [4])).toBe('count');
    expect(unitOf('perf/samples_per_sec', [900])).toBe('per_sec');
    expect([si(20000), si(2500000), si(0.5), si(0.0004), si(3)]).toEqual(['20k', '2.5M', '0.5', '400µ', '3']);
  });
});

describe('studyView', () => {
  const pooled = (rate: number) => ({ pooled: { k: rate * 10, n: 10, rate, ci95: [rate / 2, (1 + rate) / 2] } });
  const study = {
    schema: 'stride.study/1', name: 's', title: 'S', mode: 'full', verdict: 'v',
    floorGuard: { arm: 'a', metric: 'success', split: 'validation', minRate: 0.1, rate: 0.05, n: 20, passed: false },
    arms: { a: { metrics: { success: pooled(0.5), only: pooled(0.1) } }, b: { metrics: { success: pooled(0.25) } } },
    claims: [{ id: 'c1', met: false, measured: -0.1, ci95: [-0.3, 0.1] }, { id: 'c2', met: null, measured: Number.NaN, ci95: [Number.NaN, Number.NaN] }],
  };
  it('shows the guard, every claim with its verdict word, and one bar chart per metric all arms share', () => {
    const v = studyView(study)!;
    expect(v.guard).toMatch(/FAILED/);
    expect(v.claims).toEqual([{ id: 'c1', met: 'not met', measured: '-0.100 [-0.300, 0.100]' }, { id: 'c2', met: 'not decided', measured: 'n/a [n/a, n/a]' }]);
    expect(v.tables.map((t) => t.title)).toEqual(['arms · success']);
    expect(v.tables[0]!.xNames).toEqual(['a', 'b']);
    expect(v.tables[0]!.series[0]!.ys).toEqual([0.5, 0.25]);
  });
  it('is null for any other results file', () => {
    expect(studyView({ arms: {}, claims: [] })).toBeNull();
    expect(studyView([1, 2, 3])).toBeNull();
  });
});
