/**
 * The BullMQ queue, on a real redis-server (own loopback port, own temp dir) with real `stride worker` processes:
 * - two workers drain `stride experiment beso-toy --quick --queue`: results, cell files and cache keys equal a local run's
 *   (provenance, wall times and the data folder's path aside);
 * - a worker SIGKILLed mid-cell: its job stalls and runs again on the other worker; same results, every cell once;
 * - a sweep run (`stride train --grid … --queue`) whose worker is SIGKILLed after a checkpoint resumes from it on
 *   another worker and ends bit-identical to the local sweep;
 * - a worker on another commit refuses the job (both identities in the reason) and keeps serving after a malformed
 *   job; a resubmission retries the refused cells; a cell that fails deterministically is failed after N attempts and
 *   reported (the study does not hang);
 * - a bad URL, a Redis that is down, one that never answers, a wrong or missing password, a non-loopback Redis without
 *   auth: one-line errors, within the spawn's bound; a password URL works and is never printed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, copyFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseQueueUrl, QUEUE_CONFIG } from '../../experiments/harness/queue.ts';
import { runStudy, type StudyDef } from '../../experiments/harness/study.ts';
import type { Protocol } from '../../experiments/harness/protocol.ts';
import { ROOT, strideAsync, type CliResult } from '../helpers.ts';
import { freePort, startRedis, startWorker, type TestRedis, type WorkerProc } from './redis.ts';
import type { TinyInput } from './fixtures/tiny_cell.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'queue-'));
let redis: TestRedis;
const workers: WorkerProc[] = [];
async function worker(url: string, o: { root?: string } = {}): Promise<WorkerProc> {
  const w = await startWorker(url, { artifacts: path.join(tmp, 'artifacts'), lockSec: 10, ...o }); // lock: generous on a loaded machine
  workers.push(w);
  return w;
}

beforeAll(async () => { redis = await startRedis(); }, 60_000);
afterAll(async () => {
  for (const w of workers) await w.kill('SIGKILL');
  await redis?.stop();
  rmSync(tmp, { recursive: true, force: true });
}, 60_000);

const TINY = ['dataEpisodes=6', 'trainSteps=8', 'batchSize=16', 'width=16', 'depth=1', 'seeds=1', 'evalEpisodes=3', 'modeRollouts=3', 'evalMaxSteps=12', 'dpLongSteps=12', 'workers=2'];
const besoArgs = (name: string, extra: string[] = []) => ['experiment', 'beso-toy', '--quick', '--json', '--out', path.join(tmp, name, 'results'), '--cache', path.join(tmp, name, 'cache'), ...TINY.flatMap((b) => ['--budget', b]), ...extra];
const cellsDir = (name: string) => path.join(tmp, name, 'cache', 'beso-toy', 'quick', 'cells');

/** A study result without what may differ between two equal runs: provenance, wall times, the data folder's path. */
function comparable(res: Record<string, unknown>): unknown {
  const { provenance: _p, prepared, cells, ...rest } = res as { provenance: unknown; prepared: Record<string, unknown>; cells: Record<string, unknown>[] };
  const { dataDir: _d, ...prep } = prepared;
  return { ...rest, prepared: prep, cells: cells.map(({ wallSec: _w, trainWallSec: _t, ...c }) => c) };
}
/** The cache's cell files: name (id-key) → content without wall times. */
function cellFiles(name: string): Record<string, unknown> {
  return Object.fromEntries(readdirSync(cellsDir(name)).sort().map((f) => {
    const { wallSec: _w, trainWallSec: _t, ...c } = JSON.parse(readFileSync(path.join(cellsDir(name), f), 'utf8'));
    return [f, c];
  }));
}
function oneLine(r: CliResult): string {
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}
async function status(url: string): Promise<{ workers: number; groups: Record<string, { waiting: number; active: number; completed: number; failed: number }>; failed: { id: string; reason: string }[] }> {
  const r = await strideAsync(['queue', 'status', '--queue', url, '--json'], { timeoutMs: 60_000 });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

let local: { res: Record<string, unknown>; files: Record<string, unknown> } | null = null;
/** The local (worker-thread) run of the same study, once. */
async function localRun(): Promise<NonNullable<typeof local>> {
  if (!local) {
    const r = await strideAsync(besoArgs('local'), { timeoutMs: 400_000 });
    expect(r.code, r.stderr).toBe(0);
    local = { res: JSON.parse(r.stdout), files: cellFiles('local') };
  }
  return local;
}

describe('stride experiment --queue', () => {
  it('two worker processes drain a --quick study; results, cell files and keys equal the local run', async () => {
    const base = await localRun();
    const url = redis.url(1);
    const [a, b] = [await worker(url), await worker(url)];
    const r = await strideAsync(besoArgs('queued', ['--queue', url]), { timeoutMs: 400_000 });
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.provenance.queue).toBe(url);
    expect(comparable(res)).toEqual(comparable(base.res));
    expect(cellFiles('queued')).toEqual(base.files);
    expect(Object.keys(base.files)).toHaveLength(3);
    // Both workers ran cells; progress counts were printed as JSON lines.
    expect(a.log()).toMatch(/: done beso-toy-quick\./);
    expect(b.log()).toMatch(/: done beso-toy-quick\./);
    const counts = r.stderr.split('\n').filter((l) => l.startsWith('{"queue"')).map((l) => JSON.parse(l).queue);
    expect(counts.at(-1)).toEqual({ total: 3, cached: 0, done: 3, running: 0, waiting: 0, failed: 0 });
    expect(counts.some((c) => c.running > 0)).toBe(true);
    expect((await status(url)).groups['beso-toy-quick']).toEqual({ waiting: 0, active: 0, completed: 3, failed: 0 });
    await a.kill(); await b.kill();
  }, 900_000);

  it('a worker killed with SIGKILL mid-cell: the cell runs again on the other worker; same results, every cell once', async () => {
    const base = await localRun();
    const url = redis.url(2);
    const [a, b] = [await worker(url), await worker(url)];
    const submit = strideAsync(besoArgs('killed', ['--queue', url]), { timeoutMs: 600_000 });
    await Promise.race([a.waitFor(/: start beso-toy-quick\.\S+/, 300_000), submit.then((x) => { throw new Error(`the submitter ended first: ${x.stderr}`); })]);
    const jobId = /: start (beso-toy-quick\.\S+)/.exec(a.log())![1]!;
    await a.kill('SIGKILL');
    expect(a.log()).not.toContain(`done ${jobId}`);
    const r = await submit;
    expect(r.code, r.stderr).toBe(0);
    expect(b.log()).toMatch(new RegExp(`start ${jobId.replace(/[.]/g, '\\.')} \\(run [2-9], after \\d+ stalls?\\)`));
    expect(b.log()).toContain(`done ${jobId}`);
    expect(comparable(JSON.parse(r.stdout))).toEqual(comparable(base.res));
    expect(cellFiles('killed')).toEqual(base.files);
    const s = await status(url);
    expect(s.groups['beso-toy-quick']).toEqual({ waiting: 0, active: 0, completed: 3, failed: 0 });
    // Resubmitting finds every cell cached: nothing is queued or run again.
    const again = await strideAsync(besoArgs('killed', ['--queue', url]), { timeoutMs: 300_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/3 cells \(3 cached\)/);
    expect((await status(url)).groups['beso-toy-quick']!.completed).toBe(3);
    await b.kill();
  }, 900_000);
});

describe('stride train --grid --queue', () => {
  it('a sweep run whose worker is SIGKILLed resumes from its last checkpoint on another worker, bit-identical to the local sweep', async () => {
    const data = path.join(tmp, 'demos');
    const d = await strideAsync(['demos', '--scene', 'toy/point_reach', '--episodes', '5', '--out', data], { timeoutMs: 120_000 });
    expect(d.code, d.stderr).toBe(0);
    const args = (out: string, extra: string[] = []) => ['train', '--method', 'diffusion', '--scene', 'toy/point_reach', '--data', data, '--steps', '120', '--out', out, '--batch', '32',
      '--checkpoint-every', '20', '--backend', 'wasm', '--config', 'width=32', '--config', 'depth=2', '--config', 'trainSteps=20', '--grid', 'seed=7', '--grid', 'lr=1e-3', '--json', ...extra];
    const l = await strideAsync(args(path.join(tmp, 'sweepL')), { timeoutMs: 300_000 });
    expect(l.code, l.stderr).toBe(0);
    const localRunDir = JSON.parse(l.stdout).runs[0].runDir;
    expect(localRunDir).toBe(path.join(tmp, 'sweepL', 'seed=7,lr=1e-3'));

    const url = redis.url(4);
    const a = await worker(url);
    const submit = strideAsync(args(path.join(tmp, 'sweepQ'), ['--queue', url]), { timeoutMs: 600_000 });
    const runDir = path.join(tmp, 'artifacts', 'sweepQ', 'seed=7,lr=1e-3');
    // `latest` moves (by rename) just after a checkpoint folder appears: wait for the pointer, not the folder.
    const latestStep = () => { try { return Number(readFileSync(path.join(runDir, 'latest'), 'utf8').trim()); } catch { return 0; } };
    for (let t0 = Date.now(); !(latestStep() >= 40); await new Promise((res) => setTimeout(res, 20))) {
      if (Date.now() - t0 > 300_000) throw new Error(`no checkpoint 40 in ${runDir}: ${a.log()}`);
    }
    await a.kill('SIGKILL');
    const b = await worker(url);
    const r = await submit;
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout).runs[0];
    expect(run.runDir).toBe(runDir);
    expect(run.resumedFrom).toBeGreaterThanOrEqual(40);
    expect(run.resumedFrom).toBeLessThan(120);
    expect(run.worker).toMatch(new RegExp(`:${b.proc.pid}$`));
    expect(run.finalLoss).toBe(JSON.parse(l.stdout).runs[0].finalLoss);
    for (const f of ['weights.bin', 'train_state.bin']) {
      expect(readFileSync(path.join(runDir, 'checkpoints', '120', f)).equals(readFileSync(path.join(localRunDir, 'checkpoints', '120', f))), f).toBe(true);
    }
    await b.kill();
  }, 900_000);
});

// --- a tiny harness study (Rapier episodes, no training) for the refusal test ---
const CELL = fileURLToPath(new URL('./fixtures/tiny_cell.ts', import.meta.url));
const FAILING = fileURLToPath(new URL('./fixtures/failing_cell.ts', import.meta.url));
const P: Protocol = {
  name: 'tinyq', title: 'tiny queued study', paper: 'none',
  splits: { train: { start: 0, count: 10 }, validation: { start: 100, count: 20 }, heldOut: { start: 1000, count: 40 } },
  modelSeeds: [0, 1], episodesPerSeed: 3,
  arms: [{ id: 'expert', method: 'builtin', settings: { policy: 'expert' } }, { id: 'expert/val', method: 'builtin', settings: { policy: 'expert' }, split: 'validation' }],
  budget: {}, claims: [], floorGuard: { arm: 'expert/val', metric: 'success', minRate: 0.1, split: 'validation' }, floorRate: 0.1, simplifications: [],
};
const tinyDef: StudyDef<TinyInput> = {
  protocol: P, cellModule: CELL, prepare: async () => ({}),
  cells: () => P.modelSeeds.map((seed, seedIndex) => ({ id: `m-s${seed}`, slice: { seed, arms: P.arms, splits: P.splits }, input: { protocol: P, arms: P.arms, seed, seedIndex } })),
  text: { setting: 'test', metrics: { success: 'reached' } },
};
const quiet = { log: () => {}, command: 'test', workers: 2, mode: 'quick' as const };

/** A clone of this checkout (working tree included) with one more commit: the same code under another identity. */
function otherCommitCheckout(): string {
  const dst = path.join(tmp, 'other');
  execFileSync('git', ['clone', '-q', '--shared', '--no-checkout', ROOT, dst]);
  execFileSync('git', ['-C', dst, 'checkout', '-q', execFileSync('git', ['-C', ROOT, 'rev-parse', 'HEAD']).toString().trim()]);
  const changed = execFileSync('git', ['-C', ROOT, 'ls-files', '-m', '-o', '--exclude-standard']).toString().split('\n').filter(Boolean);
  for (const f of changed) { if (!existsSync(path.join(ROOT, f))) continue; mkdirSync(path.dirname(path.join(dst, f)), { recursive: true }); copyFileSync(path.join(ROOT, f), path.join(dst, f)); }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dst, 'node_modules'));
  execFileSync('git', ['-C', dst, 'add', '-A']);
  execFileSync('git', ['-C', dst, '-c', 'user.name=test', '-c', 'user.email=test@example.com', 'commit', '-q', '--allow-empty', '-m', 'another code identity']);
  return dst;
}

describe('stride worker', () => {
  it('refuses a job from another commit with both identities, keeps serving after a malformed job; a resubmission retries', async () => {
    const url = redis.url(3);
    const target = parseQueueUrl(url);
    const other = await worker(url, { root: otherCommitCheckout() });
    const theirCode = /code (\S+), concurrency/.exec(other.log())![1]!;
    const q = new Queue('stride', { connection: { host: '127.0.0.1', port: redis.port, db: 3 } });
    try {
      const junk = await q.add('junk', { kind: 'nonsense' });
      const out = path.join(tmp, 'tiny', 'results'), cache = path.join(tmp, 'tiny', 'cache');
      await expect(runStudy(tinyDef, { ...quiet, outDir: out, cacheDir: cache, queue: { target } })).rejects.toThrow(new RegExp(`2 of 2 cells failed on the queue: m-s0 \\(after 1 attempt\\): refused by worker \\S+: it runs code ${theirCode}, the job was submitted from code \\S+ \\(start the worker on the submitter's commit\\)`));
      expect(existsSync(path.join(out, 'tinyq.json'))).toBe(false);
      expect(await (await q.getJob(junk.id!))!.getState()).toBe('failed');
      expect((await q.getJob(junk.id!))!.failedReason).toMatch(/^malformed job: no 'group'/);
      const s = await status(url);
      expect(s.groups['tinyq-quick']).toEqual({ waiting: 0, active: 0, completed: 0, failed: 2 });
      expect(s.groups['(malformed)']).toEqual({ waiting: 0, active: 0, completed: 0, failed: 1 });
      await other.kill();

      // A worker on this code; the resubmission retries the refused cells and ends with the local numbers.
      const w = await worker(url);
      const queued = await runStudy(tinyDef, { ...quiet, outDir: out, cacheDir: cache, queue: { target } });
      const localRes = await runStudy(tinyDef, { ...quiet, outDir: path.join(tmp, 'tinyL', 'results'), cacheDir: path.join(tmp, 'tinyL', 'cache') });
      expect(queued.runs).toEqual(localRes.runs);
      expect(queued.arms).toEqual(localRes.arms);
      expect(readdirSync(path.join(cache, 'cells')).sort()).toEqual(readdirSync(path.join(tmp, 'tinyL', 'cache', 'cells')).sort());
      expect((await status(url)).groups['tinyq-quick']).toEqual({ waiting: 0, active: 0, completed: 2, failed: 0 });

      // A cell that fails deterministically: failed with its error after QUEUE_CONFIG.attempts runs, and the study
      // reports it (no hang); the cell that succeeded is cached.
      const failing: StudyDef<TinyInput> = { ...tinyDef, protocol: { ...P, name: 'tinyfail' }, cellModule: FAILING };
      const fcache = path.join(tmp, 'tinyfail', 'cache');
      await expect(runStudy(failing, { ...quiet, outDir: path.join(tmp, 'tinyfail', 'results'), cacheDir: fcache, queue: { target } }))
        .rejects.toThrow(`1 of 2 cells failed on the queue: m-s1 (after ${QUEUE_CONFIG.attempts} attempts): deliberate failure of model seed 1`);
      expect(readdirSync(path.join(fcache, 'cells')).map((f) => f.replace(/-[0-9a-f]{16}\.json$/, ''))).toEqual(['m-s0']);
      expect(w.log().match(/start tinyfail-quick\.m-s1-/g)).toHaveLength(QUEUE_CONFIG.attempts);
      const fs = await status(url);
      expect(fs.groups['tinyfail-quick']).toEqual({ waiting: 0, active: 0, completed: 1, failed: 1 });
      expect(fs.failed.find((f) => f.id.startsWith('tinyfail-quick.m-s1-'))!.reason).toBe('deliberate failure of model seed 1');
      await w.kill();
    } finally {
      await q.close();
    }
  }, 600_000);

  it('a bad URL, a Redis that is down or mute, bad credentials, an unauthenticated remote Redis: one-line errors, bounded time', async () => {
    const bad = await strideAsync(['worker', '--queue', 'notaurl'], { timeoutMs: 60_000 });
    expect(bad.code).toBe(2);
    expect(oneLine(bad)).toBe("stride: --queue 'notaurl': not a URL (expected redis://[:PASSWORD@]HOST[:PORT][/DB])");
    const scheme = await strideAsync(['queue', 'status', '--queue', 'http://127.0.0.1:6379'], { timeoutMs: 60_000 });
    expect(oneLine(scheme)).toMatch(/^stride: --queue 'http:\/\/127\.0\.0\.1:6379': scheme 'http' is not redis or rediss/);

    const port = await freePort(); // nothing listens there
    const down = await strideAsync(['worker', '--queue', `redis://127.0.0.1:${port}`], { timeoutMs: 60_000 });
    expect(down.code).toBe(1);
    expect(oneLine(down)).toBe(`stride: cannot use Redis at redis://127.0.0.1:${port}: connection refused (is redis-server running there?)`);
    const exp = await strideAsync(besoArgs('down', ['--queue', `redis://127.0.0.1:${port}`]), { timeoutMs: 60_000 });
    expect(exp.code).toBe(1);
    expect(oneLine(exp)).toMatch(/^stride: cannot use Redis at .*connection refused/);
    expect(existsSync(path.join(tmp, 'down'))).toBe(false); // nothing written

    const train = ['train', '--method', 'bc', '--scene', 'toy/point_reach', '--data', path.join(tmp, 'no-data'), '--steps', '5', '--out', path.join(tmp, 'nosweep')];
    const g = await strideAsync([...train, '--grid', 'lr'], { timeoutMs: 60_000 });
    expect(g.code).toBe(2);
    expect(oneLine(g)).toBe("stride: --grid 'lr': expected key=v1,v2,…");
    const ng = await strideAsync([...train, '--queue', `redis://127.0.0.1:${port}`], { timeoutMs: 60_000 });
    expect(ng.code).toBe(2);
    expect(oneLine(ng)).toBe('stride: --queue runs a sweep: give at least one --grid key=v1,v2');
    const sd = await strideAsync([...train, '--grid', 'seed=0,1', '--queue', `redis://127.0.0.1:${port}`], { timeoutMs: 60_000 });
    expect(oneLine(sd)).toMatch(/^stride: cannot use Redis at .*connection refused/);
    expect(existsSync(path.join(tmp, 'nosweep'))).toBe(false);

    // A server that accepts connections and never answers.
    const mute: Server = createServer(() => {});
    const mutePort = await new Promise<number>((res) => mute.listen(0, '127.0.0.1', () => res((mute.address() as { port: number }).port)));
    try {
      const m = await strideAsync(['queue', 'status', '--queue', `redis://127.0.0.1:${mutePort}`], { timeoutMs: 60_000 });
      expect(m.code).toBe(1);
      expect(oneLine(m)).toMatch(/^stride: cannot use Redis at redis:\/\/127\.0\.0\.1:\d+: /);
    } finally { mute.close(); }

    const remote = await strideAsync(['worker', '--queue', 'redis://192.0.2.1:6379'], { timeoutMs: 60_000 });
    expect(remote.code).toBe(2);
    expect(oneLine(remote)).toBe('stride: --queue redis://192.0.2.1:6379: refusing a non-loopback Redis without a password (put it in the URL, redis://:PASSWORD@192.0.2.1:6379, or pass --insecure)');
    const insecure = await strideAsync(['queue', 'status', '--insecure', '--queue', 'redis://192.0.2.1:6379'], { timeoutMs: 60_000 });
    expect(insecure.code).toBe(1);
    expect(oneLine(insecure)).toMatch(/^stride: cannot use Redis at redis:\/\/192\.0\.2\.1:6379: /);

    // A password URL: works, and the password is never printed; a missing or wrong one is a one-line error.
    const locked = await startRedis({ password: 'pa55-word' });
    try {
      const ok = await strideAsync(['queue', 'status', '--queue', locked.url(), '--json'], { timeoutMs: 60_000 });
      expect(ok.code, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout).queue).toBe(`redis://:***@127.0.0.1:${locked.port}`);
      const w = await worker(locked.url());
      expect(w.log()).not.toContain('pa55-word');
      await w.kill();
      const none = await strideAsync(['queue', 'status', '--queue', `redis://127.0.0.1:${locked.port}`], { timeoutMs: 60_000 });
      expect(oneLine(none)).toBe(`stride: cannot use Redis at redis://127.0.0.1:${locked.port}: it needs a password (redis://:PASSWORD@127.0.0.1:${locked.port})`);
      const wrong = await strideAsync(['queue', 'status', '--queue', `redis://:nope@127.0.0.1:${locked.port}`], { timeoutMs: 60_000 });
      expect(oneLine(wrong)).toMatch(/^stride: cannot use Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: it refused the credentials/);
      expect(wrong.stderr).not.toContain('nope');
    } finally { await locked.stop(); }
  }, 300_000);
});
