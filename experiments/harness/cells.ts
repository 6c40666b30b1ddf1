/**
 * Cells: the independent jobs of a study — one (method, model seed, condition, budget) each: train a model, evaluate
 * its arms, return JSON. A cell's input is serialisable and its output is JSON, so the job boundary stays clean
 * (worker threads via `runParallel` by default; a BullMQ queue over Redis with queue.ts).
 *
 * Cache: every finished cell is written (atomically) to `<cacheDir>/cells/<id>-<key>.json`, key = hash of the cell's
 * protocol slice + the identity of the code it runs (commit, plus a hash of any uncommitted change under the code
 * folders). A study cut off mid-way continues where it stopped; `--quick` uses the same pipeline.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gitCommit } from '../../sim/data/atomic.ts';
import { runParallel } from '../../policies/train/data_parallel.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
/** Folders whose code a cell runs: an uncommitted change in any of them changes every cache key. */
const CODE_PATHS = ['sim', 'scenes', 'policies', 'experiments'];

/**
 * One cell: a stable id (file name), the protocol slice it depends on, and the job's input. `stage` (default 0):
 * cells run stage by stage in increasing order, so a cell may read what an earlier stage's cell wrote (e.g. a
 * phase-1 model); within a stage they run in parallel.
 */
export interface CellSpec<I> { id: string; slice: unknown; input: I; stage?: number }

let codeCache: string | null = null;
/** The commit of the code, + '+' and a hash of the uncommitted diff (tracked and untracked files) when there is one. */
export function codeIdentity(): string {
  if (codeCache) return codeCache;
  const commit = gitCommit();
  let dirty = '';
  try {
    const diff = execFileSync('git', ['diff', 'HEAD', '--', ...CODE_PATHS], { cwd: repoRoot, maxBuffer: 1 << 28 });
    const untracked = execFileSync('git', ['ls-files', '--others', '--exclude-standard', '--', ...CODE_PATHS], { cwd: repoRoot }).toString().split('\n').filter(Boolean);
    if (diff.length || untracked.length) {
      const h = createHash('sha256').update(diff);
      for (const f of untracked) h.update(f).update(readFileSync(path.join(repoRoot, f)));
      dirty = `+${h.digest('hex').slice(0, 12)}`;
    }
  } catch { /* not a git checkout: the commit ('unknown') is all we know */ }
  codeCache = `${commit}${dirty}`;
  return codeCache;
}

/** Cache key of a cell: hash of its protocol slice and the code identity. */
export function cellKey(slice: unknown, code = codeIdentity()): string {
  return createHash('sha256').update(JSON.stringify({ slice, code })).digest('hex').slice(0, 16);
}

export function cellFile(cacheDir: string, c: CellSpec<unknown>, code?: string): string {
  return path.join(cacheDir, 'cells', `${c.id}-${cellKey(c.slice, code)}.json`);
}

/** What the harness's worker entry (cell_worker.ts) receives; `file: null` returns the output instead (the queue). */
export interface CellJob { module: string; input: unknown; file: string | null }

/**
 * Runs the cells that are not cached and writes each one's output to its file (the local default is worker threads;
 * queue.ts's `runCellsOnQueue` is the distributed one).
 */
export type CellRunner = (module: string, todo: { cell: CellSpec<unknown>; file: string }[], totalCells: number) => Promise<void>;

/**
 * Run the cells that are not cached yet on `workers` worker threads (each writes its output file as soon as it is
 * done, so an interruption loses only the cells in flight) and return every cell's output, in order.
 * `module` exports `runCell(input): Promise<output>`.
 */
export async function runCells<I, O>(module: string, cells: CellSpec<I>[], o: { cacheDir: string; workers: number; log(line: string): void; runner?: CellRunner; onCell?(finished: number, total: number): void }): Promise<{ outputs: O[]; cached: number }> {
  const code = codeIdentity();
  const files = cells.map((c) => cellFile(o.cacheDir, c, code));
  const todo: { cell: CellSpec<unknown>; file: string }[] = [];
  cells.forEach((c, i) => { if (!existsSync(files[i]!)) todo.push({ cell: c, file: files[i]! }); });
  o.log(`${cells.length} cells (${cells.length - todo.length} cached), ${o.runner ? 'on the queue' : `${Math.min(o.workers, Math.max(1, todo.length))} workers`}, code ${code}`);
  if (todo.length) {
    if (o.runner) await o.runner(module, todo, cells.length);
    else await runParallel<CellJob, unknown>(path.join(here, 'cell_worker.ts'), todo.map((t) => ({ module, input: t.cell.input, file: t.file })), o.workers, o.onCell);
  }
  return { outputs: files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as O), cached: cells.length - todo.length };
}
