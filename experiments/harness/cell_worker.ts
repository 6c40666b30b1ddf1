/**
 * `runParallel` job of the harness: run one cell of a study module and write its output atomically (the cache), or
 * return it (`file: null`: a queue worker, whose submitter writes the file).
 */
import { pathToFileURL } from 'node:url';
import { writeJsonAtomic } from '../../sim/data/atomic.ts';
import type { CellJob } from './cells.ts';

export async function runJob(job: CellJob): Promise<{ file: string } | { output: unknown }> {
  const mod = (await import(pathToFileURL(job.module).href)) as { runCell(input: unknown): Promise<unknown> };
  const out = await mod.runCell(job.input);
  if (job.file === null) return { output: out };
  writeJsonAtomic(job.file, out);
  return { file: job.file };
}
