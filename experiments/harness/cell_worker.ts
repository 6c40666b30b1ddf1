/** `runParallel` job of the harness: run one cell of a study module and write its output atomically (the cache). */
import { pathToFileURL } from 'node:url';
import { writeJsonAtomic } from '../../sim/data/atomic.ts';
import type { CellJob } from './cells.ts';

export async function runJob(job: CellJob): Promise<{ file: string }> {
  const mod = (await import(pathToFileURL(job.module).href)) as { runCell(input: unknown): Promise<unknown> };
  const out = await mod.runCell(job.input);
  writeJsonAtomic(job.file, out);
  return { file: job.file };
}
