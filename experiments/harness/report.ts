/**
 * One renderer for every study: `results/<name>.json` (schema `stride.study/1`: protocol, provenance, every cell,
 * every arm, every claim) and `results/<name>.md` (the paper-style table, the floor-guard line, one paragraph per
 * claim, the verdict). The viewer's Results page reads the same JSON.
 */
import path from 'node:path';
import { formatRate } from '../../sim/math/stats.ts';
import { writeAtomic, writeJsonAtomic, type Provenance } from '../../sim/data/atomic.ts';
import type { ArmRun, ArmSummary, ClaimResult, FloorGuardResult } from './claims.ts';
import type { Comparison, Protocol } from './protocol.ts';

export const STUDY_SCHEMA = 'stride.study/1';

export interface StudyResult {
  schema: typeof STUDY_SCHEMA;
  name: string; title: string; paper: string;
  /** 'quick' (smoke run: says nothing about the claims) or 'full'. */
  mode: 'quick' | 'full';
  /** `queue`: the Redis queue the cells ran on; `notRunCells`: cells of later stages not run (a failed floor guard, or a pilot that stops after it). */
  provenance: Provenance & { code: string; backend: string; wallSec: number; cachedCells: number; cellWallSec: number; queue?: string; notRunCells?: number };
  protocol: Protocol;
  /** What the study prepared before the cells (data sets, their statistics), as the study reports it. */
  prepared: Record<string, unknown>;
  floorGuard: FloorGuardResult;
  arms: Record<string, ArmSummary>;
  claims: ClaimResult[];
  /** Per cell: its id and what the study's cell reported beside its runs (training wall time, loss curve, …). */
  cells: Record<string, unknown>[];
  /** Every arm × model seed with its episodes' outcomes. */
  runs: ArmRun[];
  /** Human-readable texts of the study (setting, metric names). */
  text: StudyText;
  verdict: string;
  /** The study's own summaries (StudyDef.derived), e.g. FDP's `lowData` rows. */
  derived?: Record<string, unknown>;
}

export interface StudyText {
  /** What the setting is and how it differs from the paper's. */
  setting: string;
  /** Metric name → what it means (the arm table shows these, in this order). */
  metrics: Record<string, string>;
  /** Extra markdown sections (after the arm table), e.g. the data's own mode statistics. */
  extra?: string[];
}

const pct = (x: number) => (x * 100).toFixed(1);
const ci = (c: [number, number]) => `[${pct(c[0])}, ${pct(c[1])}]`;

export function comparisonText(k: Comparison): string {
  switch (k.kind) {
    case 'rate': return `${k.metric}(${k.arm}) ${k.op} ${pct(k.value)}%`;
    case 'difference': return `${k.metric}(${k.a}) − ${k.metric}(${k.b}) ${k.op} ${pct(k.value)} points${k.ciBeyond ? ', the 95% interval too' : ''}`;
    case 'ratio': return `${k.metric}(${k.a}) / ${k.metric}(${k.b}) ${k.op} ${k.value}`;
    case 'meanDifference': return `mean over {${k.pairs.map(([a, b]) => `${a} − ${b}`).join('; ')}} of ${k.metric} ${k.op} ${pct(k.value)} points${k.ciBeyond ? ', the 95% interval too' : ''}`;
    case 'median': return `median ${k.metric}(${k.arm}) ${k.op} ${k.value}`;
    case 'modes': return `per model of ${k.arm}: rarer of ${k.modes.join(' / ')} ${k.expect === 'both' ? '≥' : '<'} ${pct(k.minShare)}% of the rollouts that chose one; ${k.models} models`;
    case 'all': return k.of.map((x) => `(${comparisonText(x)})`).join(' AND ');
    case 'any': return k.of.map((x) => `(${comparisonText(x)})`).join(' OR ');
  }
}

function measuredText(c: ClaimResult): string {
  const k = c.comparison;
  if (k.kind === 'all' || k.kind === 'any') return c.parts!.map((r) => `(${measuredText(r)} → ${metText(r.met)})`).join(k.kind === 'all' ? ' AND ' : ' OR ');
  if (k.kind === 'ratio') return `${Number.isFinite(c.measured) ? c.measured.toFixed(3) : 'n/a'} [${c.ci95.map((x) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a')).join(', ')}] (bootstrap)`;
  if (k.kind === 'modes') return `${c.perModel!.filter((m) => m.has).length}/${c.perModel!.length} models; per model rarer-mode share ${c.perModel!.map((m) => pct(Math.min(...m.shares) / Math.max(1e-12, m.shares[0] + m.shares[1]))).join(' / ')}% of the rollouts that chose a mode, none ${c.perModel!.map((m) => pct(m.none)).join(' / ')}%`;
  if (!Number.isFinite(c.measured)) return 'n/a';
  if (k.kind === 'difference') return `${(c.measured * 100).toFixed(1)} points ${ci(c.ci95)} (Newcombe; paired bootstrap ${ci(c.ci95Paired!)})`;
  if (k.kind === 'meanDifference') return `${(c.measured * 100).toFixed(1)} points ${ci(c.ci95)} (Newcombe, MOVER; paired bootstrap ${ci(c.ci95Paired!)})`;
  if (k.kind === 'median') return `${c.measured.toFixed(3)} [${c.ci95.map((x) => x.toFixed(3)).join(', ')}] (bootstrap)`;
  return `${formatRate(c.measured, c.ci95)} (Wilson)`;
}

const metText = (m: boolean | null) => (m === null ? 'not decided' : m ? 'yes' : 'no');

export function verdictOf(r: Pick<StudyResult, 'mode' | 'claims' | 'floorGuard'>): string {
  const q = r.mode === 'quick' ? 'This is a --quick smoke run with tiny budgets: its numbers say nothing about the claims. ' : '';
  const g = r.floorGuard;
  const failed = (g.checks ?? [g]).filter((x) => !x.passed).map((x) => `${x.arm} ${x.metric} = ${pct(x.rate)}% < ${pct(x.minRate)}% on ${x.split}`).join('; ');
  const guard = g.passed ? '' : `The floor guard failed (${failed}): the task was not learned well enough for a claim to mean anything, so no claim is decided; simplify the task (protocol.simplifications) and rerun. `;
  const by = (m: boolean | null) => r.claims.filter((c) => c.met === m).map((c) => c.id);
  const open = by(null);
  return `${q}${guard}Met (${by(true).length}/${r.claims.length}): ${by(true).join(', ') || 'none'}. Not met: ${by(false).join(', ') || 'none'}. Not decided: ${open.join(', ') || 'none'}.` +
    (open.length ? ' A study with undecided claims is not finished.' : '');
}

export function markdown(r: StudyResult): string {
  const p = r.protocol, L: string[] = [];
  const pv = r.provenance;
  L.push(`# ${r.title} (${r.mode} run)`, '');
  L.push(`Paper: ${r.paper}.`, '');
  L.push(`Command: \`${pv.command}\` · commit ${pv.commit}${pv.dirty ? ' (uncommitted changes)' : ''} · backend ${pv.backend} · wall ${(pv.wallSec / 60).toFixed(1)} min (${pv.cachedCells} of ${r.cells.length} cells cached; cells' worker time ${(pv.cellWallSec / 60).toFixed(1)} min).`, '');
  L.push(`Setting: ${r.text.setting}`, '');
  const sp = p.splits, rng = (x: { start: number; count: number }) => `[${x.start}, ${x.start + x.count})`;
  L.push(`Protocol (fixed before the run): seeds train ${rng(sp.train)} · validation ${rng(sp.validation)} · held-out ${rng(sp.heldOut)} (disjoint); ${p.modelSeeds.length} model seeds (${p.modelSeeds.join(', ')}), each evaluated on its own block of starts, shared by every arm (paired); ${p.episodesPerSeed} episodes per arm per model seed; floor rate ${pct(p.floorRate)}%.`, '');
  L.push(`Budget: ${Object.entries(p.budget).map(([k, v]) => `${k} ${v}`).join(', ')}.`, '');
  if (p.simplifications.length) {
    L.push('Simplifications (task changes after a failed floor guard):', '');
    for (const s of p.simplifications) L.push(`- ${s.what} — ${s.why} (guard before: ${pct(s.guardBefore.rate)}% of ${s.guardBefore.n})`);
    L.push('');
  }
  const g = r.floorGuard;
  const checks = (g.checks ?? [g]).map((x) => `${x.arm} ${x.metric} on ${x.split} = ${pct(x.rate)}% (n = ${x.n}) ${x.passed ? '≥' : '<'} ${pct(x.minRate)}%${x.perArm ? ` (guard arms: ${Object.entries(x.perArm).map(([a, y]) => `${a} ${pct(y.rate)}%`).join(', ')}; the best decides)` : ''}`).join('; ');
  L.push(`**Floor guard**: ${checks} → ${g.passed ? 'passed' : 'FAILED: no claim is decided'}.`, '');

  const metrics = Object.keys(r.text.metrics);
  L.push(`| arm | split | n | ${metrics.map((m) => `${m} (Wilson; per seed %)`).join(' | ')} |`, `|---|---|---|${metrics.map(() => '---|').join('')}`);
  for (const a of p.arms) {
    const s = r.arms[a.id];
    if (!s) continue;
    const cells = metrics.map((m) => { const x = s.metrics[m]; return x ? `${formatRate(x.pooled.rate, x.pooled.ci95)} (${x.perSeed.map(pct).join(' / ')})` : '–'; });
    L.push(`| ${a.id} | ${a.split ?? 'heldOut'} | ${s.episodes} | ${cells.join(' | ')} |`);
  }
  L.push('', 'Metrics: ' + Object.entries(r.text.metrics).map(([k, v]) => `**${k}** = ${v}`).join('; ') + '. Per-seed rates in protocol seed order; cluster-bootstrap intervals (seeds, then starts) are in the JSON (`ci95Cluster`).', '');
  for (const e of r.text.extra ?? []) L.push(e, '');

  L.push('## Claims', '', '| claim | comparison (fixed a priori) | measured | met |', '|---|---|---|---|');
  for (const c of r.claims) L.push(`| ${c.id} [${c.source}] | ${comparisonText(c.comparison)} | ${measuredText(c)} | ${metText(c.met)} |`);
  L.push('');
  for (const c of r.claims) {
    L.push(`**${c.id}** — ${c.statement} Paper: ${c.paperValue}. Measured ${measuredText(c)}; ${c.met === null ? `not decided: ${c.undecided}` : c.met ? 'met' : 'not met'}.`, '');
  }
  L.push('## Verdict', '', r.verdict, '');
  return L.join('\n');
}

/** Write `<outDir>/<name>.json` and `.md`, each atomically. */
export function writeReport(outDir: string, r: StudyResult): void {
  writeJsonAtomic(path.join(outDir, `${r.name}.json`), r, 1);
  writeAtomic(path.join(outDir, `${r.name}.md`), markdown(r));
}
