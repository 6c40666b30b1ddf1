/**
 * From per-episode outcomes to arm summaries, the floor guard and claim verdicts.
 *
 * - An arm's metric = pooled rate over every model seed × start (95% Wilson interval), the per-seed rates, and a
 *   cluster-bootstrap interval (seeds, then starts within a seed), which is the honest interval when seeds differ.
 * - Differences: Newcombe's interval of the pooled rates (conservative for paired arms) + the paired bootstrap; a
 *   mean of differences combines the pairs' Newcombe intervals by MOVER. Ratios: the paired cluster bootstrap.
 *   Medians of numeric outcomes: the cluster bootstrap. Modes: judged per model, then summarised.
 * - The floor guard may hold several checks (`FloorGuardSpec.and`); it passes when all pass.
 * - `met` is true | false | null. null ("not decided") when the floor guard failed, or when every side of the
 *   comparison is below the protocol's floor rate — a 0 % = 0 % comparison is never "met".
 */
import { clusterBootstrapCi, newcombe, pairedRatioCi, rate, type Rate } from '../../sim/math/stats.ts';
import type { ClaimSpec, Comparison, FloorGuardSpec, Op, Protocol } from './protocol.ts';

/** One evaluation episode's outcomes: its start seed and named numeric outcomes (0/1 for rates). */
export interface EpisodeOutcome { start: number; [metric: string]: number }

/** One arm evaluated on one model: the episodes on that model's block of starts. */
export interface ArmRun { arm: string; method: string; seed: number; seedIndex: number; episodes: EpisodeOutcome[] }

export interface MetricSummary {
  /** Pooled over every seed × start, with its 95% Wilson interval. */
  pooled: Rate;
  /** One rate per model seed (protocol order). */
  perSeed: number[];
  /** 95% cluster-bootstrap interval of the pooled rate (seeds, then starts). */
  ci95Cluster: [number, number];
}

export interface ArmSummary { arm: string; method: string; seeds: number[]; episodes: number; metrics: Record<string, MetricSummary> }

const BOOT = { reps: 2000, seed: 12345 };

/** Runs of `arm` by seed index (protocol order). */
function runsOf(runs: ArmRun[], arm: string): ArmRun[] {
  return runs.filter((r) => r.arm === arm).sort((a, b) => a.seedIndex - b.seedIndex);
}

function outcomes(rs: ArmRun[], metric: string): number[][] {
  return rs.map((r) => r.episodes.map((e) => {
    const v = e[metric];
    if (typeof v !== 'number') throw new Error(`arm ${r.arm}: episode of start ${e.start} has no metric '${metric}'`);
    return v;
  }));
}

/** Summaries of every arm and every numeric outcome its episodes carry. */
export function summarizeArms(p: Protocol, runs: ArmRun[]): Record<string, ArmSummary> {
  const out: Record<string, ArmSummary> = {};
  for (const a of p.arms) {
    const rs = runsOf(runs, a.id);
    if (!rs.length) continue;
    const metricNames = Object.keys(rs[0]!.episodes[0] ?? {}).filter((k) => k !== 'start');
    const metrics: Record<string, MetricSummary> = {};
    for (const m of metricNames) {
      const xs = outcomes(rs, m);
      const k = xs.flat().reduce((s, v) => s + v, 0), n = xs.flat().length;
      const boot = clusterBootstrapCi((draws) => {
        let s = 0, c = 0;
        for (const d of draws) for (const i of d.items) { s += xs[d.cluster]![i]!; c++; }
        return s / c;
      }, xs.map((x) => x.length), BOOT);
      metrics[m] = { pooled: rate(k, n), perSeed: xs.map((x) => x.reduce((s, v) => s + v, 0) / Math.max(1, x.length)), ci95Cluster: boot.ci };
    }
    out[a.id] = { arm: a.id, method: a.method, seeds: rs.map((r) => r.seed), episodes: rs.reduce((s, r) => s + r.episodes.length, 0), metrics };
  }
  return out;
}

/** One check of the floor guard (with `alsoArms`: the best of its arms decides; `perArm` lists them all). */
export interface FloorGuardCheck {
  /** The guard arm with the highest rate (the one that decides). */
  arm: string; metric: string; split: string; minRate: number; rate: number; n: number; passed: boolean;
  /** With `alsoArms`: every guard arm's rate and n. */
  perArm?: Record<string, { rate: number; n: number }>;
}

/** The guard: its first check's numbers at the top level, every check in `checks`, `passed` = all of them passed. */
export interface FloorGuardResult extends FloorGuardCheck { checks: FloorGuardCheck[] }

function guardCheck(g: Omit<FloorGuardSpec, 'and'>, arms: Record<string, ArmSummary>): FloorGuardCheck {
  const ids = [g.arm, ...(g.alsoArms ?? [])];
  const per: Record<string, { rate: number; n: number }> = {};
  for (const id of ids) {
    const m = arms[id]?.metrics[g.metric];
    if (!m) throw new Error(`floor guard: arm ${id} has no metric '${g.metric}'`);
    per[id] = { rate: m.pooled.rate, n: m.pooled.n };
  }
  const best = ids.reduce((b, id) => (per[id]!.rate > per[b]!.rate ? id : b), ids[0]!);
  return { arm: best, metric: g.metric, split: g.split, minRate: g.minRate, rate: per[best]!.rate, n: per[best]!.n, passed: per[best]!.rate >= g.minRate, ...(g.alsoArms?.length ? { perArm: per } : {}) };
}

export function floorGuard(p: Protocol, arms: Record<string, ArmSummary>): FloorGuardResult {
  const { and = [], ...first } = p.floorGuard;
  const checks = [first, ...and].map((g) => guardCheck(g, arms));
  return { ...checks[0]!, passed: checks.every((c) => c.passed), checks };
}

/** Median of a list (mean of the two middle values for an even count; NaN when empty). */
function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface ModelVerdict { seed: number; shares: [number, number]; none: number; decided: boolean; has: boolean }

export interface ClaimResult {
  id: string; statement: string; paperValue: string; source: 'P' | 'R'; comparison: Comparison;
  /** The comparison's value (points are not used: rates, differences and ratios are fractions). */
  measured: number;
  /** Its 95% interval: Wilson (rate), Newcombe (difference), paired cluster bootstrap (ratio), or [min, max] share over models (modes). */
  ci95: [number, number];
  /** Kind of the interval in `ci95` ('parts' for a composite: its parts carry theirs). */
  interval: 'wilson' | 'newcombe' | 'newcombe-mover' | 'bootstrap' | 'per-model range' | 'parts';
  /** Composites: every part's result (measured = the fraction of parts met). */
  parts?: ClaimResult[];
  /** Paired cluster-bootstrap interval of a difference (beside Newcombe's). */
  ci95Paired?: [number, number];
  /** Mode claims: the verdict of every model. */
  perModel?: ModelVerdict[];
  met: boolean | null;
  /** Why `met` is null, when it is. */
  undecided?: string;
}

const cmp = (x: number, op: Op, v: number) => (op === '>=' ? x >= v : op === '>' ? x > v : op === '<=' ? x <= v : x < v);

/**
 * Decide every claim of the protocol. A failed floor guard leaves every claim undecided; a claim whose arms never ran
 * (a study stopped after its guard stage) is undecided too, with `measured` NaN.
 */
export function decideClaims(p: Protocol, runs: ArmRun[], arms: Record<string, ArmSummary>, guard: FloorGuardResult): ClaimResult[] {
  return p.claims.map((c) => {
    const failed = guard.checks.filter((g) => !g.passed).map((g) => `${g.arm} ${g.metric} ${(g.rate * 100).toFixed(1)}% < ${(g.minRate * 100).toFixed(1)}% on ${g.split}`).join('; ');
    const guardText = guard.passed ? '' : `floor guard failed (${failed})`;
    const missing = armsOf(c.comparison).filter((a) => !arms[a]);
    if (missing.length) {
      const why = `${guardText ? `${guardText}; ` : ''}not run (no episodes of ${missing.join(', ')})`;
      return { id: c.id, statement: c.statement, paperValue: c.paperValue, source: c.source, comparison: c.comparison, measured: NaN, ci95: [NaN, NaN], interval: intervalOf(c.comparison), met: null, undecided: why };
    }
    const r = decide(p, c, runs, arms);
    return guard.passed ? r : { ...r, met: null, undecided: guardText };
  });
}

/** The arms a comparison reads. */
export function armsOf(k: Comparison): string[] {
  switch (k.kind) {
    case 'difference': case 'ratio': return [k.a, k.b];
    case 'meanDifference': return k.pairs.flat();
    case 'all': case 'any': return k.of.flatMap(armsOf);
    default: return [k.arm];
  }
}

function intervalOf(k: Comparison): ClaimResult['interval'] {
  return k.kind === 'rate' ? 'wilson' : k.kind === 'difference' ? 'newcombe' : k.kind === 'meanDifference' ? 'newcombe-mover' : k.kind === 'modes' ? 'per-model range' : k.kind === 'all' || k.kind === 'any' ? 'parts' : 'bootstrap';
}

function decide(p: Protocol, c: ClaimSpec, runs: ArmRun[], arms: Record<string, ArmSummary>): ClaimResult {
  const base = { id: c.id, statement: c.statement, paperValue: c.paperValue, source: c.source, comparison: c.comparison };
  const k = c.comparison;
  const pooled = (arm: string, m: string) => {
    const s = arms[arm]?.metrics[m];
    if (!s) throw new Error(`claim ${c.id}: arm ${arm} has no metric '${m}'`);
    return s.pooled;
  };
  const floor = p.floorRate;
  const atFloor = (...rs: Rate[]) => rs.every((r) => r.rate < floor);
  const floorText = `every side is below the floor rate ${(floor * 100).toFixed(1)}%`;
  switch (k.kind) {
    case 'rate': {
      const a = pooled(k.arm, k.metric);
      return { ...base, measured: a.rate, ci95: a.ci95, interval: 'wilson', met: cmp(a.rate, k.op, k.value) };
    }
    case 'difference': {
      const a = pooled(k.a, k.metric), b = pooled(k.b, k.metric), d = a.rate - b.rate, ci = newcombe(a, b);
      const xa = outcomes(runsOf(runs, k.a), k.metric), xb = outcomes(runsOf(runs, k.b), k.metric);
      const paired = clusterBootstrapCi((draws) => {
        let s = 0, n = 0;
        for (const dr of draws) for (const i of dr.items) { s += xa[dr.cluster]![i]! - xb[dr.cluster]![i]!; n++; }
        return s / n;
      }, xa.map((x) => x.length), BOOT).ci;
      const near = k.op === '>=' || k.op === '>' ? ci[0] : ci[1];
      const met = cmp(d, k.op, k.value) && (!k.ciBeyond || cmp(near, k.op, k.value));
      return atFloor(a, b) ? { ...base, measured: d, ci95: ci, interval: 'newcombe', ci95Paired: paired, met: null, undecided: floorText }
        : { ...base, measured: d, ci95: ci, interval: 'newcombe', ci95Paired: paired, met };
    }
    case 'meanDifference': {
      const P = k.pairs.length;
      const sides = k.pairs.map(([a, b]) => ({ a: pooled(a, k.metric), b: pooled(b, k.metric), xa: outcomes(runsOf(runs, a), k.metric), xb: outcomes(runsOf(runs, b), k.metric) }));
      const ds = sides.map((s) => s.a.rate - s.b.rate), cis = sides.map((s) => newcombe(s.a, s.b));
      const d = ds.reduce((x, y) => x + y, 0) / P;
      // MOVER: the mean's bounds from each difference's distance to its own bounds
      const ci: [number, number] = [d - Math.sqrt(ds.reduce((s, di, i) => s + (di - cis[i]![0]) ** 2, 0)) / P, d + Math.sqrt(ds.reduce((s, di, i) => s + (cis[i]![1] - di) ** 2, 0)) / P];
      // paired bootstrap: one draw of (seeds, starts) shared by every pair (the arms of a pair share starts; pairs share model seeds)
      const sizes = sides[0]!.xa.map((x) => x.length);
      for (const s of sides) if (s.xa.length !== sizes.length || s.xb.length !== sizes.length || s.xa.some((x, i) => x.length !== sizes[i] || s.xb[i]!.length !== sizes[i])) throw new Error(`claim ${c.id}: the arms of a meanDifference must have the same seeds and starts per seed`);
      const paired = clusterBootstrapCi((draws) => {
        let t = 0;
        for (const s of sides) {
          let v = 0, n = 0;
          for (const dr of draws) for (const i of dr.items) { v += s.xa[dr.cluster]![i]! - s.xb[dr.cluster]![i]!; n++; }
          t += v / n;
        }
        return t / P;
      }, sizes, BOOT).ci;
      const near = k.op === '>=' || k.op === '>' ? ci[0] : ci[1];
      const met = cmp(d, k.op, k.value) && (!k.ciBeyond || cmp(near, k.op, k.value));
      const all = sides.flatMap((s) => [s.a, s.b]);
      return atFloor(...all) ? { ...base, measured: d, ci95: ci, interval: 'newcombe-mover', ci95Paired: paired, met: null, undecided: floorText }
        : { ...base, measured: d, ci95: ci, interval: 'newcombe-mover', ci95Paired: paired, met };
    }
    case 'median': {
      const xs = outcomes(runsOf(runs, k.arm), k.metric);
      const m = median(xs.flat());
      const boot = clusterBootstrapCi((draws) => median(draws.flatMap((dr) => dr.items.map((i) => xs[dr.cluster]![i]!))), xs.map((x) => x.length), BOOT);
      return { ...base, measured: m, ci95: boot.ci, interval: 'bootstrap', met: Number.isFinite(m) ? cmp(m, k.op, k.value) : null, ...(Number.isFinite(m) ? {} : { undecided: 'no finite values' }) };
    }
    case 'ratio': {
      const a = pooled(k.a, k.metric), b = pooled(k.b, k.metric);
      const boot = pairedRatioCi(outcomes(runsOf(runs, k.a), k.metric), outcomes(runsOf(runs, k.b), k.metric), BOOT);
      const measured = b.rate > 0 ? a.rate / b.rate : NaN;
      if (atFloor(a, b) || !Number.isFinite(measured)) return { ...base, measured, ci95: boot.ci, interval: 'bootstrap', met: null, undecided: atFloor(a, b) ? floorText : 'the denominator rate is 0' };
      return { ...base, measured, ci95: boot.ci, interval: 'bootstrap', met: cmp(measured, k.op, k.value) };
    }
    case 'all':
    case 'any': {
      const parts = k.of.map((of, i) => decide(p, { ...c, id: `${c.id}#${i + 1}`, comparison: of }, runs, arms));
      const ms = parts.map((r) => r.met);
      const met = k.kind === 'all'
        ? (ms.includes(false) ? false : ms.includes(null) ? null : true)
        : (ms.includes(true) ? true : ms.includes(null) ? null : false);
      const measured = parts.filter((r) => r.met === true).length / parts.length;
      const res: ClaimResult = { ...base, measured, ci95: [NaN, NaN], interval: 'parts', parts, met };
      return met === null ? { ...res, undecided: parts.filter((r) => r.met === null).map((r) => `${r.id}: ${r.undecided}`).join('; ') } : res;
    }
    case 'modes': {
      const perModel: ModelVerdict[] = runsOf(runs, k.arm).map((r) => {
        const n = r.episodes.length;
        const a = r.episodes.reduce((s, e) => s + (e[k.modes[0]] ?? 0), 0) / n, b = r.episodes.reduce((s, e) => s + (e[k.modes[1]] ?? 0), 0) / n;
        const chose = a + b, rarer = chose > 0 ? Math.min(a, b) / chose : 0;
        // 'both' needs rollouts that chose a mode (a model below the floor is undecided); for 'collapse', a model that
        // rarely chooses either mode is averaging them (stuck between), which is what the claim expects.
        const decided = k.expect === 'collapse' || chose >= floor;
        const has = k.expect === 'both' ? decided && rarer >= k.minShare : chose < floor || rarer < k.minShare;
        return { seed: r.seed, shares: [a, b], none: 1 - chose, decided, has };
      });
      const rarer = perModel.map((m) => Math.min(...m.shares) / Math.max(1e-12, m.shares[0] + m.shares[1]));
      const decided = perModel.filter((m) => m.decided), has = decided.filter((m) => m.has).length;
      const measured = perModel.length ? perModel.filter((m) => m.has).length / perModel.length : 0;
      const ci95: [number, number] = [Math.min(...rarer), Math.max(...rarer)];
      if (!decided.length) return { ...base, measured, ci95, interval: 'per-model range', perModel, met: null, undecided: `no model chose either mode in ≥ ${(floor * 100).toFixed(1)}% of its rollouts` };
      const met = k.models === 'all' ? has === perModel.length : has * 2 > perModel.length;
      return { ...base, measured, ci95, interval: 'per-model range', perModel, met };
    }
  }
}
