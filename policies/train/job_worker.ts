/** Worker for `runParallel`: imports workerData.module and posts the result of its `runJob(workerData.input)`. */
import { parentPort, workerData } from 'node:worker_threads';

const { module, input } = workerData as { module: string; input: unknown };
try {
  const mod = (await import(module)) as { runJob(input: unknown): Promise<unknown> };
  const result = await mod.runJob(input);
  parentPort!.postMessage({ ok: true, result });
} catch (e) {
  parentPort!.postMessage({ ok: false, message: e instanceof Error ? e.message : String(e) });
}
