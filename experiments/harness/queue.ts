/**
 * Beyond one machine: a study's cells and a sweep's training runs as jobs on a BullMQ queue over Redis. The job
 * boundary is the same as the local one (cells.ts): a job is `{ module, input }` plus what makes it self-describing
 * (its protocol slice, the code identity it was submitted from, its cache key); a worker runs it on a worker thread
 * (runParallel, exactly as locally) and returns the cell's JSON through the queue; the submitter writes the cell file
 * `<cacheDir>/cells/<id>-<key>.json` itself, so a queued study leaves the same files, keys and outputs as a local one.
 *
 * - Nothing lost: a worker renews its jobs' locks from an event loop that never runs the cell (the cell runs on a
 *   thread); a worker that dies (SIGKILL) stops renewing, another worker sees the job stalled after `lockMs` and runs
 *   it again. Study cells train in memory (no mid-cell checkpoint), so they re-run from the start; sweep runs write
 *   checkpoints under `--artifacts` and resume from the latest one (bit-exact, policies/train).
 * - Recorded once: the job id is `<group>.<cell id>-<key>`; BullMQ ignores a second add of the same id and accepts only
 *   the lock holder's completion, and the submitter writes each cell file once.
 * - Failures: a job that throws is retried up to `attempts` times, then marked failed with its error; the submitter
 *   stops when every job is completed or failed and reports the failed cells (it never waits on them).
 * - Code versions never mix: a worker whose code identity differs from the job's refuses it (failed at once, with both
 *   identities in the reason); a resubmission retries failed jobs.
 * - Security: a password in the URL (`redis://:PASSWORD@HOST:6379`, `rediss://` for TLS); a non-loopback Redis without
 *   a password is refused unless `insecure`.
 */
import { hostname } from 'node:os';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { writeJsonAtomic } from '../../sim/data/atomic.ts';
import { runParallel } from '../../policies/train/data_parallel.ts';
import { cellKey, codeIdentity, type CellJob, type CellRunner } from './cells.ts';
import { TRAIN_JOB_MODULE, type TrainJob, type TrainJobResult } from './train_job.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');

// --- configuration ---

export const QUEUE_CONFIG = {
  /** BullMQ queue name: one queue for every study and sweep (each job carries its group). */
  name: 'stride',
  /** Runs of a job before it is marked failed (an error or a dead worker's stall each use one). */
  attempts: 3,
  /** Wait between two attempts of a failed job, ms. */
  backoffMs: 2000,
  /** A worker that has not renewed a job's lock for this long is taken for dead and its job is retried, ms. */
  lockMs: 30_000,
  /**
   * Time allowed to reach Redis (connect, PING) before a one-line error, ms. A Redis that is down, an unknown host or a
   * refused password fail at once; this bounds a host that accepts and never answers (generous: loaded machines).
   */
  connectTimeoutMs: 10_000,
  /** How long finished jobs (and their results) stay in Redis, s: a resubmission within it reuses them. */
  keepSec: 7 * 24 * 3600,
  /** How often the submitter polls its jobs, ms. */
  pollMs: 1000,
  /** The submitter gives up when Redis has not answered for this long mid-study, ms. */
  lostAfterMs: 60_000,
} as const;

// --- the URL ---

/** A parsed `--queue` URL: ioredis options and a display form without the password. */
export interface QueueTarget { url: string; display: string; redis: RedisOptions }

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[?::1\]?)$/i;

/** Parse and vet `--queue`: redis:// or rediss://, host, port, optional /DB; auth required off loopback unless `insecure`. */
export function parseQueueUrl(url: string, insecure = false): QueueTarget {
  const bad = (why: string) => new Error(`--queue '${redact(url)}': ${why} (expected redis://[:PASSWORD@]HOST[:PORT][/DB])`);
  let u: URL;
  try { u = new URL(url); } catch { throw bad('not a URL'); }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw bad(`scheme '${u.protocol.replace(/:$/, '')}' is not redis or rediss`);
  if (!u.hostname) throw bad('no host');
  const port = u.port ? Number(u.port) : 6379;
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0 || db > 15) throw bad(`database '${dbText}' is not 0…15`);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  const username = u.username ? decodeURIComponent(u.username) : undefined;
  if (!password && !LOOPBACK.test(u.hostname) && !insecure) {
    throw new Error(`--queue ${u.protocol}//${u.host}: refusing a non-loopback Redis without a password (put it in the URL, redis://:PASSWORD@${u.host}, or pass --insecure)`);
  }
  const display = `${u.protocol}//${password || username ? `${username ?? ''}:***@` : ''}${u.host}${db ? `/${db}` : ''}`;
  return {
    url, display,
    redis: { host, port, db, ...(username ? { username } : {}), ...(password ? { password } : {}), ...(u.protocol === 'rediss:' ? { tls: {} } : {}), connectTimeout: QUEUE_CONFIG.connectTimeoutMs },
  };
}

function redact(url: string): string {
  return url.replace(/\/\/([^@/]*):([^@/]*)@/, '//$1:***@');
}

/** Reach Redis once (PING) within `timeoutMs`, or throw one line saying why (down, refused password, …); its version. */
export async function checkRedis(t: QueueTarget, timeoutMs: number = QUEUE_CONFIG.connectTimeoutMs): Promise<string> {
  const c = new Redis({ ...t.redis, connectTimeout: timeoutMs, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  let cause = '';
  c.on('error', (e: Error) => { cause ||= e.message; });
  let timer: NodeJS.Timeout | undefined;
  try {
    const ping = (async () => { await c.connect(); await c.ping(); return (await c.info('server')).match(/redis_version:(\S+)/)?.[1] ?? '?'; })();
    const timeout = new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs); });
    return await Promise.race([ping, timeout]);
  } catch (e) {
    const m = /Connection is closed/.test((e as Error).message) && cause ? cause : (e as Error).message;
    const why = /NOAUTH/.test(m) ? `it needs a password (redis://:PASSWORD@${t.redis.host}:${t.redis.port})`
      : /WRONGPASS|invalid password|AUTH/i.test(m) ? `it refused the credentials (${m.split('\n')[0]})`
      : /ECONNREFUSED/.test(m) ? 'connection refused (is redis-server running there?)'
        : /ENOTFOUND|EAI_AGAIN/.test(m) ? 'unknown host' : m.split('\n')[0]!;
    throw new Error(`cannot use Redis at ${t.display}: ${why}`);
  } finally {
    clearTimeout(timer);
    c.disconnect();
  }
}

/** ioredis options for BullMQ's long-lived connections: keep retrying (a Redis restart is survived), never time out a command. */
function bullConnection(t: QueueTarget, retry: (n: number) => number | null = (n) => Math.min(500 * n, 5000)): ConnectionOptions {
  return { ...t.redis, maxRetriesPerRequest: null, retryStrategy: retry } as ConnectionOptions;
}

// --- jobs ---

/** What every job carries: its group (study or sweep), id, cache key, protocol slice and the code it needs. */
interface JobHead { group: string; id: string; key: string; slice: unknown; code: string }
/** A study cell: the cell module (repo-relative, so any checkout at the same code resolves it) and its input. */
export interface CellJobData extends JobHead { kind: 'cell'; module: string; input: unknown }
/** A sweep run: its TrainConfig; the worker trains into `<artifacts>/<group>/<id>` (resuming from its latest checkpoint). */
export interface TrainJobData extends JobHead { kind: 'train'; cfg: TrainJob['cfg'] }
export type QueueJobData = CellJobData | TrainJobData;

/** Safe job id (BullMQ forbids ':'). */
export function jobIdOf(d: { group: string; id: string; key: string }): string {
  return `${d.group}.${d.id}-${d.key}`.replace(/[^A-Za-z0-9._=,+-]/g, '_');
}

/** Counts the submitter reports (bar and --json). */
export interface QueueCounts { total: number; cached: number; done: number; running: number; waiting: number; failed: number }

export interface SubmitOptions {
  target: QueueTarget;
  /** The study or sweep name the jobs are grouped under (`stride queue status`). */
  group: string;
  log: (line: string) => void;
  /** Called whenever the counts change. */
  onProgress?: (c: QueueCounts) => void;
}

/** A job that ended failed: its id, the error, the runs used. */
export interface FailedJob { id: string; reason: string; attempts: number }

/**
 * Submit `jobs` (skipping none: the caller drops what is cached), wait until each is completed or failed, and hand
 * each completed job's return value to `onDone` as it arrives. Failed jobs are returned, never waited on.
 */
async function submitAndGather(jobs: QueueJobData[], cached: number, o: SubmitOptions, onDone: (d: QueueJobData, value: unknown) => void): Promise<FailedJob[]> {
  // The CLI has checked Redis within connectTimeoutMs before any work; here (mid-run, maybe a loaded machine) be patient.
  const version = await checkRedis(o.target, QUEUE_CONFIG.lostAfterMs);
  const queue = new Queue(QUEUE_CONFIG.name, { connection: bullConnection(o.target) });
  queue.on('error', () => {});
  const failed: FailedJob[] = [];
  try {
    const counts: QueueCounts = { total: jobs.length + cached, cached, done: 0, running: 0, waiting: jobs.length, failed: 0 };
    const pending = new Map(jobs.map((d) => [jobIdOf(d), d]));
    const opts = { attempts: QUEUE_CONFIG.attempts, backoff: { type: 'fixed', delay: QUEUE_CONFIG.backoffMs }, removeOnComplete: { age: QUEUE_CONFIG.keepSec }, removeOnFail: { age: QUEUE_CONFIG.keepSec } };
    let retried = 0, reused = 0;
    for (const [jobId, d] of pending) {
      const old = await queue.getJob(jobId);
      if (old) {
        const state = await old.getState();
        if (state === 'failed') { await old.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true }); retried++; continue; }
        if (state !== 'unknown') { reused++; continue; }
      }
      await queue.add(d.id, d, { ...opts, jobId });
    }
    o.log(`queue ${o.target.display} (Redis ${version}): ${jobs.length} jobs for ${o.group}${reused ? ` (${reused} already there)` : ''}${retried ? ` (${retried} failed before, retried)` : ''}`);
    o.onProgress?.({ ...counts });
    let lastOk = Date.now(), lastKey = JSON.stringify(counts);
    while (pending.size) {
      await new Promise((r) => setTimeout(r, QUEUE_CONFIG.pollMs));
      const arrived: [QueueJobData, unknown][] = [];
      try {
        let running = 0, waiting = 0;
        for (const [jobId, d] of [...pending]) {
          const job = await withTimeout(queue.getJob(jobId), QUEUE_CONFIG.connectTimeoutMs);
          const state = job ? await withTimeout(job.getState(), QUEUE_CONFIG.connectTimeoutMs) : 'unknown';
          if (!job || state === 'unknown') { await queue.add(d.id, d, { ...opts, jobId }); waiting++; continue; } // removed under us: add again
          if (state === 'completed') {
            arrived.push([d, job.returnvalue]);
            pending.delete(jobId); counts.done++;
          } else if (state === 'failed') {
            failed.push({ id: d.id, reason: job.failedReason ?? 'unknown error', attempts: job.attemptsMade });
            pending.delete(jobId); counts.failed++;
          } else if (state === 'active') running++;
          else waiting++;
        }
        counts.running = running; counts.waiting = waiting;
        lastOk = Date.now();
      } catch (e) {
        for (const [d, value] of arrived) onDone(d, value);
        if (Date.now() - lastOk > QUEUE_CONFIG.lostAfterMs) throw new Error(`lost Redis at ${o.target.display} for ${QUEUE_CONFIG.lostAfterMs / 1000} s (${(e as Error).message.split('\n')[0]}); finished cells are cached, resubmit to continue`);
        continue;
      }
      for (const [d, value] of arrived) onDone(d, value); // outside the try: a bad result is an error, not a Redis hiccup
      const key = JSON.stringify(counts);
      if (key !== lastKey) { lastKey = key; o.onProgress?.({ ...counts }); }
    }
  } finally {
    await closeQueue(queue);
  }
  return failed;
}

/** Close a queue's connections; when Redis is gone, close() can wait for ever: give it a moment, then drop them. */
async function closeQueue(q: Queue): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  const closed = await Promise.race([q.close().then(() => true, () => true), new Promise<boolean>((res) => { t = setTimeout(() => res(false), 2000); })]);
  clearTimeout(t);
  if (!closed) await q.disconnect().catch(() => {});
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, rej) => { t = setTimeout(() => rej(new Error(`Redis did not answer within ${ms / 1000} s`)), ms); })]).finally(() => clearTimeout(t));
}

function failedLine(failed: FailedJob[], total: number, what: string): string {
  return `${failed.length} of ${total} ${what} failed on the queue: ${failed.map((f) => `${f.id} (after ${f.attempts} attempt${f.attempts === 1 ? '' : 's'}): ${f.reason.split('\n')[0]}`).join('; ')}`;
}

/**
 * runCells' queue path (a `CellRunner`): the cells not cached are submitted as jobs; each returned output is written
 * to the same `<cacheDir>/cells/<id>-<key>.json` a local run writes. Throws (one line, naming every failed cell) when
 * any failed; the completed ones stay cached, so a resubmission runs only what is left.
 */
export function queueRunner(o: SubmitOptions): CellRunner {
  return async (module, todo, total) => {
    const code = codeIdentity();
    const rel = path.relative(repoRoot, path.resolve(module));
    if (rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`cell module ${module} is outside the repository: a worker could not find it`);
    const fileOf = new Map<string, string>();
    const jobs: CellJobData[] = todo.map(({ cell, file }) => {
      fileOf.set(cell.id, file);
      return { kind: 'cell', group: o.group, id: cell.id, key: cellKey(cell.slice, code), slice: cell.slice, code, module: rel.split(path.sep).join('/'), input: cell.input };
    });
    const failed = await submitAndGather(jobs, total - todo.length, o, (d, value) => {
      const out = (value as { output?: unknown } | null)?.output;
      if (out === undefined || out === null || typeof out !== 'object') throw new Error(`job ${jobIdOf(d)} completed without a cell output`);
      writeJsonAtomic(fileOf.get(d.id)!, out);
    });
    if (failed.length) throw new Error(failedLine(failed, total, 'cells'));
  };
}

/** One sweep run as a job: its id (the run's folder name under the worker's artifacts/<group>) and config. */
export interface SweepRun { id: string; cfg: TrainJob['cfg'] }
/** A sweep run's result as it comes back: the TrainJobResult plus the worker that ran it. */
export type QueuedTrainResult = TrainJobResult & { id: string; worker: string };

/** Submit a sweep's runs and return their results in order; throws (one line) when any failed. */
export async function runSweepOnQueue(runs: SweepRun[], o: SubmitOptions): Promise<QueuedTrainResult[]> {
  const code = codeIdentity();
  const jobs: TrainJobData[] = runs.map((r) => {
    const slice = { ...r.cfg, command: '' };
    return { kind: 'train', group: o.group, id: r.id, key: cellKey(slice, code), slice, code, cfg: r.cfg };
  });
  const results = new Map<string, QueuedTrainResult>();
  const failed = await submitAndGather(jobs, 0, o, (d, value) => { results.set(d.id, value as QueuedTrainResult); });
  if (failed.length) throw new Error(failedLine(failed, runs.length, 'runs'));
  return runs.map((r) => results.get(r.id)!);
}

// --- the worker ---

export interface WorkerOptions {
  target: QueueTarget;
  /** Jobs run at once (each on its own thread). */
  concurrency: number;
  /** Where sweep runs train (checkpoints): a folder shared by every worker lets a retried run resume anywhere. */
  artifactsDir: string;
  /** Lock duration, ms (a dead worker's jobs are retried after about this long). */
  lockMs?: number;
  log: (line: string) => void;
}

/** A running worker: `close()` lets active jobs finish; `ready` resolves once it listens. */
export interface QueueWorker { close(force?: boolean): Promise<void>; worker: Worker }

function malformed(why: string): never {
  throw new UnrecoverableError(`malformed job: ${why}`);
}

/** Vet a job's data; a worker keeps serving whatever arrives. */
function vet(data: unknown): QueueJobData {
  if (!data || typeof data !== 'object') malformed('data is not an object');
  const d = data as Record<string, unknown>;
  for (const k of ['group', 'id', 'key', 'code'] as const) if (typeof d[k] !== 'string' || !d[k]) malformed(`no '${k}'`);
  if (d.kind === 'cell') {
    if (typeof d.module !== 'string' || !d.module) malformed("no 'module'");
    const abs = path.resolve(repoRoot, d.module);
    const rel = path.relative(repoRoot, abs);
    if (rel.startsWith('..') || path.isAbsolute(rel)) malformed(`module '${d.module}' is outside the repository`);
    if (!existsSync(abs)) malformed(`module '${d.module}' does not exist in this checkout`);
  } else if (d.kind === 'train') {
    if (!d.cfg || typeof d.cfg !== 'object') malformed("no 'cfg'");
    if (!/^[A-Za-z0-9._=,+-]+$/.test(String(d.id)) || d.id === '.' || d.id === '..' || !/^[A-Za-z0-9._=,+-]+$/.test(String(d.group))) malformed(`run id '${d.id}' or group '${d.group}' is not a plain folder name`);
  } else malformed(`unknown kind '${String(d.kind)}'`);
  if (cellKey(d.slice, d.code as string) !== d.key) malformed('its key is not the hash of its slice and code');
  return d as unknown as QueueJobData;
}

/** runParallel's error without its 'job 0: ' prefix: the job's own message is the failed reason. */
function unwrap(e: unknown): never {
  throw new Error((e instanceof Error ? e.message : String(e)).replace(/^job 0: /, ''));
}

export async function startQueueWorker(o: WorkerOptions): Promise<QueueWorker> {
  const version = await checkRedis(o.target);
  const me = `${hostname()}:${process.pid}`;
  const code = codeIdentity();
  const lockMs = o.lockMs ?? QUEUE_CONFIG.lockMs;
  const processor = async (job: Job): Promise<unknown> => {
    const d = vet(job.data);
    if (d.code !== code) throw new UnrecoverableError(`refused by worker ${me}: it runs code ${code}, the job was submitted from code ${d.code} (start the worker on the submitter's commit)`);
    const t0 = performance.now();
    o.log(`${me}: start ${job.id} (run ${Math.max(1, job.attemptsStarted)}${job.stalledCounter ? `, after ${job.stalledCounter} stall${job.stalledCounter > 1 ? "s" : ""}` : ""})`);
    if (d.kind === 'cell') {
      const [r] = await runParallel<CellJob, { output: unknown }>(path.join(here, 'cell_worker.ts'), [{ module: path.resolve(repoRoot, d.module), input: d.input, file: null }], 1).catch(unwrap);
      o.log(`${me}: done ${job.id} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return { output: r!.output, worker: me };
    }
    const runDir = path.resolve(o.artifactsDir, d.group, d.id);
    const [r] = await runParallel<TrainJob, TrainJobResult>(TRAIN_JOB_MODULE, [{ runDir, cfg: d.cfg, resume: 'auto' }], 1).catch(unwrap);
    o.log(`${me}: done ${job.id} in ${((performance.now() - t0) / 1000).toFixed(1)} s${r!.resumedFrom ? ` (resumed from step ${r!.resumedFrom})` : ''}`);
    return { ...r, id: d.id, worker: me };
  };
  const worker = new Worker(QUEUE_CONFIG.name, processor, {
    connection: bullConnection(o.target), concurrency: o.concurrency, lockDuration: lockMs, stalledInterval: Math.max(1000, Math.floor(lockMs / 2)),
    maxStalledCount: QUEUE_CONFIG.attempts, autorun: true,
  });
  worker.on('failed', (job, err) => { o.log(`${me}: failed ${job?.id ?? '?'}: ${err.message.split('\n')[0]}`); });
  worker.on('stalled', (id) => { o.log(`${me}: job ${id} stalled (its worker stopped renewing the lock); it will run again`); });
  let lastErr = '';
  worker.on('error', (e) => { const m = e.message.split('\n')[0]!; if (m !== lastErr) { lastErr = m; o.log(`${me}: queue error: ${m}`); } });
  await worker.waitUntilReady();
  o.log(`worker ${me} on ${o.target.display} (Redis ${version}), code ${code}, concurrency ${o.concurrency}, artifacts ${path.resolve(o.artifactsDir)}`);
  return { worker, close: (force = false) => worker.close(force) };
}

// --- status ---

export interface QueueStatus {
  queue: string;
  workers: number | null;
  groups: Record<string, { waiting: number; active: number; completed: number; failed: number }>;
  failed: { id: string; reason: string }[];
}

/** Jobs per group and state, the workers connected, and the failed jobs' reasons. */
export async function queueStatus(t: QueueTarget): Promise<QueueStatus> {
  await checkRedis(t);
  const queue = new Queue(QUEUE_CONFIG.name, { connection: bullConnection(t, () => null) });
  queue.on('error', () => {});
  try {
    const groups: QueueStatus['groups'] = {};
    const failed: QueueStatus['failed'] = [];
    const states = { waiting: ['wait', 'prioritized', 'delayed', 'paused', 'waiting-children'], active: ['active'], completed: ['completed'], failed: ['failed'] } as const;
    for (const [col, names] of Object.entries(states) as [keyof typeof states, readonly string[]][]) {
      const jobs = await queue.getJobs(names as never, 0, -1);
      for (const j of jobs) {
        if (!j) continue;
        const g = typeof j.data?.group === 'string' ? j.data.group : '(malformed)';
        (groups[g] ??= { waiting: 0, active: 0, completed: 0, failed: 0 })[col]++;
        if (col === 'failed') failed.push({ id: String(j.id), reason: j.failedReason ?? '' });
      }
    }
    let workers: number | null = null;
    try { workers = (await queue.getWorkers()).length; } catch { /* CLIENT LIST not permitted */ }
    return { queue: t.display, workers, groups, failed };
  } finally {
    await closeQueue(queue);
  }
}
