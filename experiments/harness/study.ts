/**
 * The study runner every method's study uses: protocol → (prepare) → cells → arm summaries → floor guard → claims →
 * report. A study module supplies a `StudyDef` (its protocol table, what to prepare, its cells, its texts) and a cell
 * module exporting `runCell(input)`; everything else — seed splits, caching, paired starts, intervals, `met: null`,
 * the report — lives here once.
 */
import { mkdirSync } from 'node:fs';
import { provenance } from '../../sim/data/atomic.ts';
import { decideClaims, floorGuard, summarizeArms, type ArmRun, type ArmSummary } from './claims.ts';
import { codeIdentity, runCells, type CellSpec } from './cells.ts';
import { validateProtocol, type Protocol } from './protocol.ts';
import { queueRunner, type QueueCounts, type QueueTarget } from './queue.ts';
import { STUDY_SCHEMA, verdictOf, writeReport, type StudyResult, type StudyText } from './report.ts';

/** What every cell returns: its arm runs, the backend it ran on, its wall time, and anything else worth reporting. */
export interface CellOutput { runs: ArmRun[]; backend: string; wallSec: number; [k: string]: unknown }

export interface StudyDef<I> {
  protocol: Protocol;
  /** Absolute path of the module exporting `runCell(input: I): Promise<CellOutput>`. */
  cellModule: string;
  /** Work done once before the cells (e.g. demonstrations on the train split), cached by the study under cacheDir. */
  prepare(cacheDir: string, log: (l: string) => void): Promise<Record<string, unknown>>;
  /** The cells, given what `prepare` returned. Inputs must be JSON. */
  cells(prepared: Record<string, unknown>): CellSpec<I>[];
  text: StudyText | ((prepared: Record<string, unknown>) => StudyText);
  /**
   * The stage whose cells decide the floor guard (cells carry `stage`, see cells.ts). After it the guard is checked
   * on the runs so far; when it fails, later stages do not run (their claims are "not decided: not run"). Absent: every
   * stage runs and the guard is checked at the end.
   */
  guardStage?: number;
  /** Study-specific summaries of the arms (e.g. a low-data curve's rows), stored as the result's `derived`. */
  derived?(arms: Record<string, ArmSummary>, runs: ArmRun[], cells: { id: string; out: CellOutput }[], prepared: Record<string, unknown>): Record<string, unknown>;
}

export interface RunStudyOptions {
  mode: 'quick' | 'full';
  outDir: string;
  /** The study's own cache folder (cells and prepared data). */
  cacheDir: string;
  workers: number;
  command: string;
  log: (line: string) => void;
  /**
   * Run the cells as jobs on a BullMQ queue (`stride worker`s drain it) instead of local worker threads: same cell
   * files, keys and outputs. Jobs are grouped as `<study>-<mode>`; `onProgress` sees the counts as they change.
   */
  queue?: { target: QueueTarget; onProgress?: (c: QueueCounts) => void };
  /** After each cell that had to run locally (not cached, no queue) finishes: how many of them have, out of how many. */
  onCell?: (finished: number, total: number) => void;
  /** Stop after the guard stage even when the guard passed (a pilot: the same cells, cached for the full run). */
  stopAfterGuard?: boolean;
  /** Run the later stages even when the guard failed (a --quick smoke run exercises every stage; claims stay undecided). */
  continuePastGuard?: boolean;
}

export async function runStudy<I>(def: StudyDef<I>, o: RunStudyOptions): Promise<StudyResult> {
  const t0 = Date.now();
  const p = def.protocol;
  validateProtocol(p);
  mkdirSync(o.cacheDir, { recursive: true });

  // --- prepare (data) ---
  const prepared = await def.prepare(o.cacheDir, o.log);

  // --- cells (cached), stage by stage; the floor guard after its stage ---
  const specs = def.cells(prepared);
  const runner = o.queue ? queueRunner({ target: o.queue.target, group: `${p.name}-${o.mode}`, log: o.log, onProgress: o.queue.onProgress }) : undefined;
  const stages = [...new Set(specs.map((c) => c.stage ?? 0))].sort((a, b) => a - b);
  const outputs: (CellOutput | undefined)[] = new Array(specs.length);
  let cached = 0;
  for (const st of stages) {
    const idx = specs.flatMap((c, i) => ((c.stage ?? 0) === st ? [i] : []));
    if (stages.length > 1) o.log(`stage ${st}:`);
    const r = await runCells<I, CellOutput>(def.cellModule, idx.map((i) => specs[i]!), { cacheDir: o.cacheDir, workers: o.workers, log: o.log, runner, onCell: o.onCell });
    idx.forEach((i, j) => { outputs[i] = r.outputs[j]; });
    cached += r.cached;
    if (def.guardStage === st) {
      const g = floorGuard(p, summarizeArms(p, outputs.flatMap((c) => c?.runs ?? [])));
      o.log(`floor guard: ${g.checks.map((c) => `${c.arm} ${c.metric} ${(c.rate * 100).toFixed(1)}% (n ${c.n}) ${c.passed ? '≥' : '<'} ${(c.minRate * 100).toFixed(1)}%`).join('; ')} → ${g.passed ? 'passed' : 'FAILED'}`);
      if (!g.passed && !o.continuePastGuard) { o.log('floor guard failed: later stages are not run, no claim is decided'); break; }
      if (o.stopAfterGuard) { o.log('stopping after the guard stage (pilot)'); break; }
    }
  }
  const ran = specs.flatMap((c, i) => (outputs[i] ? [{ id: c.id, out: outputs[i]! }] : []));
  const runs = ran.flatMap((c) => c.out.runs);

  // --- arms, floor guard, claims ---
  const arms = summarizeArms(p, runs);
  const guard = floorGuard(p, arms);
  const claims = decideClaims(p, runs, arms, guard);

  // --- report ---
  const prov = provenance({ command: o.command, paths: ['sim', 'scenes', 'policies', 'experiments'] });
  const result: StudyResult = {
    schema: STUDY_SCHEMA, name: p.name, title: p.title, paper: p.paper, mode: o.mode,
    provenance: { ...prov, code: codeIdentity(), backend: ran[0]?.out.backend ?? 'unknown', wallSec: (Date.now() - t0) / 1000, cachedCells: cached, ...(o.queue ? { queue: o.queue.target.display } : {}), cellWallSec: ran.reduce((s, c) => s + c.out.wallSec, 0), ...(ran.length < specs.length ? { notRunCells: specs.length - ran.length } : {}) },
    protocol: p, prepared, floorGuard: guard, arms, claims,
    cells: ran.map((c) => { const { runs: _r, ...rest } = c.out; return { id: c.id, ...rest }; }),
    runs, text: typeof def.text === 'function' ? def.text(prepared) : def.text, verdict: '',
    ...(def.derived ? { derived: def.derived(arms, runs, ran, prepared) } : {}),
  };
  result.verdict = verdictOf(result);
  writeReport(o.outDir, result);
  return result;
}
