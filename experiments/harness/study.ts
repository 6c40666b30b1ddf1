/**
 * The study runner every method's study uses: protocol → (prepare) → cells → arm summaries → floor guard → claims →
 * report. A study module supplies a `StudyDef` (its protocol table, what to prepare, its cells, its texts) and a cell
 * module exporting `runCell(input)`; everything else — seed splits, caching, paired starts, intervals, `met: null`,
 * the report — lives here once.
 */
import { mkdirSync } from 'node:fs';
import { provenance } from '../../sim/data/atomic.ts';
import { decideClaims, floorGuard, summarizeArms, type ArmRun } from './claims.ts';
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
}

export async function runStudy<I>(def: StudyDef<I>, o: RunStudyOptions): Promise<StudyResult> {
  const t0 = Date.now();
  const p = def.protocol;
  validateProtocol(p);
  mkdirSync(o.cacheDir, { recursive: true });

  // --- prepare (data) ---
  const prepared = await def.prepare(o.cacheDir, o.log);

  // --- cells (cached) ---
  const runner = o.queue ? queueRunner({ target: o.queue.target, group: `${p.name}-${o.mode}`, log: o.log, onProgress: o.queue.onProgress }) : undefined;
  const { outputs, cached } = await runCells<I, CellOutput>(def.cellModule, def.cells(prepared), { cacheDir: o.cacheDir, workers: o.workers, log: o.log, runner, onCell: o.onCell });
  const runs = outputs.flatMap((c) => c.runs);

  // --- arms, floor guard, claims ---
  const arms = summarizeArms(p, runs);
  const guard = floorGuard(p, arms);
  const claims = decideClaims(p, runs, arms, guard);

  // --- report ---
  const prov = provenance({ command: o.command, paths: ['sim', 'scenes', 'policies', 'experiments'] });
  const specs = def.cells(prepared);
  const result: StudyResult = {
    schema: STUDY_SCHEMA, name: p.name, title: p.title, paper: p.paper, mode: o.mode,
    provenance: { ...prov, code: codeIdentity(), backend: outputs[0]?.backend ?? 'unknown', wallSec: (Date.now() - t0) / 1000, cachedCells: cached, ...(o.queue ? { queue: o.queue.target.display } : {}), cellWallSec: outputs.reduce((s, c) => s + c.wallSec, 0) },
    protocol: p, prepared, floorGuard: guard, arms, claims,
    cells: outputs.map((c, i) => { const { runs: _r, ...rest } = c; return { id: specs[i]!.id, ...rest }; }),
    runs, text: typeof def.text === 'function' ? def.text(prepared) : def.text, verdict: '',
  };
  result.verdict = verdictOf(result);
  writeReport(o.outDir, result);
  return result;
}
