/**
 * Crash safety of long writes, with a real SIGKILL (no handler runs, no cleanup): `stride demos` leaves no dataset
 * at all (and the next run clears the dead writer's temp folder), `stride rollout --record` leaves no file at the
 * target and a temp file that `stride replay` reads up to its last complete record, saying it was cut and where, and
 * `stride experiment` resumes from the cells it had finished. Every wait is for a condition on disk, not a sleep.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, STRIDE, strideAsync as stride } from '../helpers.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'stride-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function start(args: string[]): ChildProcess {
  return spawn(process.execPath, [STRIDE, ...args], { cwd: ROOT, stdio: 'ignore' });
}

/** Resolve once `cond()` holds (checked every 50 ms); reject if the child exits first or after `ms`. */
function until(child: ChildProcess, cond: () => boolean, ms = 300_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const onExit = (c: number | null) => reject(new Error(`the writer exited (${c}) before the condition held`));
    child.once('exit', onExit);
    const tick = () => {
      if (cond()) { child.off('exit', onExit); resolve(); return; }
      if (Date.now() - t0 > ms) { child.off('exit', onExit); reject(new Error('condition never held')); return; }
      setTimeout(tick, 50);
    };
    tick();
  });
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => { child.once('exit', () => resolve()); child.kill('SIGKILL'); });
}

const temps = (target: string) => readdirSync(path.dirname(target)).filter((n) => n.startsWith(`${path.basename(target)}.tmp-`));

function allFiles(d: string): string[] {
  if (!existsSync(d)) return [];
  return readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(path.join(d, e.name)) : [path.join(d, e.name)]));
}

describe('kill -9 during long writes', { timeout: 600_000 }, () => {
  it('stride demos: nothing at the target; the next run clears the dead temp folder and writes a valid dataset', async () => {
    const out = path.join(dir, 'demos');
    const child = start(['demos', '--scene', 'toy/point_reach', '--episodes', '100000', '--out', out]);
    await until(child, () => temps(out).some((t) => existsSync(path.join(dir, t, 'meta'))));
    await kill9(child);
    expect(existsSync(out)).toBe(false);
    expect(temps(out)).toHaveLength(1); // the killed writer's, complete or not, never at the target
    const r = await stride(['demos', '--scene', 'toy/point_reach', '--episodes', '2', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(temps(out)).toHaveLength(0);
    expect(JSON.parse(r.stdout).episodes ?? 2).toBeGreaterThan(0);
  });

  it('stride rollout --record: nothing at the target; the temp file replays up to its last complete record, and says it was cut', async () => {
    const file = path.join(dir, 'rec.mcap');
    const child = start(['rollout', '--scene', 'toy/point_reach', '--policy', 'random', '--episodes', '100000', '--record', file]);
    await until(child, () => temps(file).some((t) => statSync(path.join(dir, t)).size > 200_000));
    await kill9(child);
    expect(existsSync(file)).toBe(false);
    const [tmp] = temps(file);
    const cutFile = path.join(dir, tmp!);
    const r = await stride(['replay', cutFile, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { cut: { atByte: number; fileBytes: number; episode: number; steps: number }; episodes: unknown[] };
    expect(out.cut.atByte).toBeGreaterThan(0);
    expect(out.cut.atByte).toBeLessThanOrEqual(out.cut.fileBytes);
    expect(out.episodes.length).toBe(out.cut.episode + 1);
    expect(r.stderr).toMatch(new RegExp(`was cut at byte ${out.cut.atByte} of ${out.cut.fileBytes} .*readable up to episode ${out.cut.episode} step ${out.cut.steps}`));
    // The readable part is a real recording: it re-simulates step for step.
    const v = await stride(['replay', cutFile, '--verify', '--json']);
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout).verified).toBe(true);
  });

  it('stride experiment: a killed study resumes from the cells it had finished (each written atomically) and completes', async () => {
    const cache = path.join(dir, 'cache');
    const TINY = ['dataEpisodes=6', 'trainSteps=8', 'batchSize=16', 'width=16', 'depth=1', 'seeds=1', 'evalEpisodes=3', 'modeRollouts=3', 'evalMaxSteps=12', 'dpLongSteps=12', 'workers=1'];
    const args = (out: string) => ['experiment', 'beso-toy', '--quick', '--json', '--out', out, '--cache', cache, ...TINY.flatMap((b) => ['--budget', b])];
    const cellsDone = () => allFiles(cache).filter((f) => path.basename(path.dirname(f)) === 'cells' && f.endsWith('.json')).length;
    const child = start(args(path.join(dir, 'res-killed')));
    await until(child, () => cellsDone() >= 1);
    await kill9(child);
    const done = cellsDone();
    expect(done).toBeGreaterThanOrEqual(1);
    expect(existsSync(path.join(dir, 'res-killed', 'beso-toy.json'))).toBe(false);
    const r = await stride(args(path.join(dir, 'res-resumed')), { timeoutMs: 500_000 });
    expect(r.code, r.stderr).toBe(0);
    const m = /(\d+) cells \((\d+) cached\)/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    expect(Number(m![2])).toBeGreaterThanOrEqual(done);
    expect(JSON.parse(r.stdout).schema).toBe('stride.study/1');
  });
});
