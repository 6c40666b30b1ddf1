/** Worker for `runParallel`: imports workerData.module and posts the result of its `runJob(workerData.input)`. */
import { parentPort, workerData } from 'node:worker_threads';

/**
 * A worker's stderr reaches the parent asynchronously, and the parent terminates the worker as soon as the result
 * arrives: wait until what the job logged has been handed over, or its last lines are lost.
 */
const flushStderr = (): Promise<void> => new Promise((res) => process.stderr.write('', () => res()));

const { module, input } = workerData as { module: string; input: unknown };
try {
  const mod = (await import(module)) as { runJob(input: unknown): Promise<unknown> };
  const result = await mod.runJob(input);
  await flushStderr();
  parentPort!.postMessage({ ok: true, result });
} catch (e) {
  await flushStderr();
  parentPort!.postMessage({ ok: false, message: e instanceof Error ? e.message : String(e) });
}
