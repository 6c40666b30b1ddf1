/**
 * `stride worker --queue redis://HOST:6379 [--concurrency N] [--artifacts DIR] [--insecure] [--lock-sec S]`
 * Drains the BullMQ queue until stopped: study cells (`stride experiment … --queue`) and sweep runs (`stride train
 * --grid … --queue`), each on its own worker thread, exactly as they run locally. A job submitted from another code
 * identity (commit + uncommitted changes) is refused with both identities in the reason. Sweep runs train into
 * `--artifacts DIR/<sweep>/<run>` (a folder every worker shares lets a retried run resume from its last checkpoint).
 * SIGINT/SIGTERM: finish the active jobs and stop; a second signal abandons them (another worker retries them).
 */
import type { Command } from 'commander';
import { queueTarget } from './queue.ts';
import { action, CliError, parseIntOpt } from './util.ts';

interface WorkerOpts { queue: string; concurrency: number; artifacts: string; insecure?: boolean; lockSec: number }

export function register(program: Command): void {
  program
    .command('worker')
    .description('run queued study cells and sweep runs from a Redis queue until stopped (start one on every machine)')
    .requiredOption('--queue <url>', 'Redis URL, redis://[:PASSWORD@]HOST[:PORT][/DB]')
    .option('--concurrency <n>', 'jobs at once (each on its own thread)', parseIntOpt('concurrency', 1), 1)
    .option('--artifacts <dir>', 'folder for sweep runs and their checkpoints (shared by every worker: retries resume)', 'runs/queue')
    .option('--insecure', 'allow a non-loopback Redis without a password')
    .option('--lock-sec <s>', "seconds without a lock renewal before a worker's job counts as stalled and is retried", parseIntOpt('lock-sec', 2), 30)
    .action(action(async (opts: WorkerOpts) => {
      const target = await queueTarget(opts.queue, !!opts.insecure);
      const { startQueueWorker } = await import('../experiments/harness/queue.ts');
      const log = (l: string) => process.stderr.write(`${l}\n`);
      let w;
      try {
        w = await startQueueWorker({ target, concurrency: opts.concurrency, artifactsDir: opts.artifacts, lockMs: opts.lockSec * 1000, log });
      } catch (e) { throw new CliError((e as Error).message); }
      let stopping = false;
      const stop = (sig: string) => {
        if (stopping) { log(`${sig} again: abandoning the active jobs (another worker will retry them)`); process.exit(130); }
        stopping = true;
        log(`${sig}: finishing the active jobs, then stopping (${sig} again to abandon them)`);
        void w.close().then(() => process.exit(0), () => process.exit(1));
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
      await new Promise(() => {}); // serve until a signal
    }));
}
