/**
 * What the viewer's Training/Results tabs decide to plot (electron/renderer/tables.ts: plain data, no DOM). The
 * rendering itself is covered in real Chromium by viewer.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findTables, groupRows, studyView } from '../../electron/renderer/tables.ts';

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
