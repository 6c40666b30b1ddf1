/**
 * From per-episode outcomes to arm summaries, the floor guard and claim verdicts.
 *
 * - An arm's metric = pooled rate over every model seed × start (95% Wilson interval), the per-seed rates, and a
 *   cluster-bootstrap interval (seeds, then starts within a seed), which is the honest interval when seeds differ.
 * - Differences: Newcombe's interval of the pooled rates (conservative for paired arms) + the paired bootstrap.
 *   Ratios: the paired cluster bootstrap. Modes: judged per model, then summarised.
 * - `met` is true | false | null. null ("not decided") when the floor guard failed, or when every side of the
 *   comparison is below the protocol's floor rate — a 0 % = 0 % comparison is never "met".
 */
import { clusterBootstrapCi, newcombe, pairedRatioCi, rate, type Rate } from '../../sim/math/stats.ts';
import type { ClaimSpec, Comparison, Op, Protocol } from './protocol.ts';

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

export interface FloorGuardResult {
  /** The guard arm with the highest rate (the one that decides). */
  arm: string; metric: string; split: string; minRate: number; rate: number; n: number; passed: boolean;
  /** With `alsoArms`: every guard arm's rate and n. */
  perArm?: Record<string, { rate: number; n: number }>;
}

export function floorGuard(p: Protocol, arms: Record<string, ArmSummary>): FloorGuardResult {
  const g = p.floorGuard, ids = [g.arm, ...(g.alsoArms ?? [])];
  const per: Record<string, { rate: number; n: number }> = {};
  for (const id of ids) {
    const m = arms[id]?.metrics[g.metric];
    if (!m) throw new Error(`floor guard: arm ${id} has no metric '${g.metric}'`);
    per[id] = { rate: m.pooled.rate, n: m.pooled.n };
  }
  const best = ids.reduce((b, id) => (per[id]!.rate > per[b]!.rate ? id : b), ids[0]!);
  const { alsoArms: _a, ...spec } = g;
  return { ...spec, arm: best, rate: per[best]!.rate, n: per[best]!.n, passed: per[best]!.rate >= g.minRate, ...(g.alsoArms?.length ? { perArm: per } : {}) };
}

export interface ModelVerdict { seed: number; shares: [number, number]; none: number; decided: boolean; has: boolean }

export interface ClaimResult {
  id: string; statement: string; paperValue: string; source: 'P' | 'R'; comparison: Comparison;
  /** The comparison's value (points are not used: rates, differences and ratios are fractions). */
  measured: number;
  /** Its 95% interval: Wilson (rate), Newcombe (difference), paired cluster bootstrap (ratio), or [min, max] share over models (modes). */
  ci95: [number, number];
  /** Kind of the interval in `ci95` ('parts' for a composite: its parts carry theirs). */
  interval: 'wilson' | 'newcombe' | 'bootstrap' | 'per-model range' | 'parts';
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

/** Decide every claim of the protocol. A failed floor guard leaves every claim undecided. */
export function decideClaims(p: Protocol, runs: ArmRun[], arms: Record<string, ArmSummary>, guard: FloorGuardResult): ClaimResult[] {
  return p.claims.map((c) => {
    const r = decide(p, c, runs, arms);
    if (!guard.passed) return { ...r, met: null, undecided: `floor guard failed (${guard.arm} ${guard.metric} ${(guard.rate * 100).toFixed(1)}% < ${(guard.minRate * 100).toFixed(1)}% on ${guard.split})` };
    return r;
  });
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
