/**
 * `stride queue status --queue redis://HOST:6379 [--json] [--insecure]` — jobs waiting / active / done / failed per
 * study or sweep on the BullMQ queue, the workers connected, and each failed job's reason.
 * Also the shared pieces of the `--queue` option (URL vetting, the submitter's progress bar).
 */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import type { QueueCounts, QueueTarget } from '../experiments/harness/queue.ts';
import { action, CliError, info, printJson } from './util.ts';

/** Parse and vet a `--queue` URL (one-line usage error when it is not one, or is a non-loopback Redis without auth). */
export async function queueTarget(url: string, insecure: boolean): Promise<QueueTarget> {
  const { parseQueueUrl } = await import('../experiments/harness/queue.ts');
  try { return parseQueueUrl(url, insecure); } catch (e) { throw new CliError((e as Error).message, 2); }
}

/** Reach Redis now (one-line error within the connect timeout when it is down or refuses the credentials). */
export async function reachQueue(t: QueueTarget): Promise<void> {
  const { checkRedis } = await import('../experiments/harness/queue.ts');
  try { await checkRedis(t); } catch (e) { throw new CliError((e as Error).message); }
}

/**
 * The submitter's progress: a bar of cells done / running / failed on a terminal; otherwise one line per change
 * (a JSON object `{"queue": {…counts}}` on stderr with --json).
 */
export function queueProgress(json: boolean, what = 'cells'): { onProgress(c: QueueCounts): void; stop(): void } {
  const bar = process.stderr.isTTY && !json
    ? new cliProgress.SingleBar({ format: `{bar} {value}/{total} ${what} done | {running} running | {waiting} waiting | {failed} failed`, hideCursor: true }, cliProgress.Presets.shades_classic)
    : null;
  let started = false;
  return {
    onProgress(c) {
      const done = c.done + c.cached;
      if (bar) {
        if (!started) { bar.start(c.total, done, c); started = true; }
        bar.update(done, c);
      } else if (json) process.stderr.write(`${JSON.stringify({ queue: c })}\n`);
      else info(false, `${done}/${c.total} ${what} done (${c.cached} cached), ${c.running} running, ${c.waiting} waiting, ${c.failed} failed`);
    },
    stop() { if (started) bar?.stop(); },
  };
}

interface StatusOpts { queue: string; json?: boolean; insecure?: boolean }

export function register(program: Command): void {
  const q = program.command('queue').description('the BullMQ job queue shared by `stride worker`s (status)');
  q.command('status')
    .description('jobs waiting / active / done / failed per study or sweep, and the workers connected')
    .requiredOption('--queue <url>', 'Redis URL, redis://[:PASSWORD@]HOST[:PORT][/DB]')
    .option('--json', 'print the counts as JSON on stdout')
    .option('--insecure', 'allow a non-loopback Redis without a password')
    .action(action(async (opts: StatusOpts) => {
      const target = await queueTarget(opts.queue, !!opts.insecure);
      const { queueStatus } = await import('../experiments/harness/queue.ts');
      let s;
      try { s = await queueStatus(target); } catch (e) { throw new CliError((e as Error).message); }
      if (opts.json) { printJson(s); return; }
      const groups = Object.entries(s.groups);
      info(false, `queue ${s.queue}: ${s.workers ?? '?'} worker${s.workers === 1 ? '' : 's'} connected${groups.length ? '' : ', no jobs'}`);
      if (groups.length) {
        const w = Math.max(5, ...groups.map(([g]) => g.length));
        info(false, `${'group'.padEnd(w)}  waiting  active  done  failed`);
        for (const [g, c] of groups) info(false, `${g.padEnd(w)}  ${String(c.waiting).padStart(7)}  ${String(c.active).padStart(6)}  ${String(c.completed).padStart(4)}  ${String(c.failed).padStart(6)}`);
      }
      for (const f of s.failed) info(false, `failed ${f.id}: ${f.reason.split('\n')[0]}`);
    }));
}
