/**
 * SIGKILL-resume: a diffusion run (EMA, per-step noise, sampler RNG) killed with SIGKILL mid-run and resumed with
 * --resume ends with bit-identical weights, EMA, optimiser state and RNG states to an uninterrupted run.
 * Also: a corrupt run config ⇒ one-line error naming the file, non-zero exit, nothing overwritten.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadScenesForTest, tmp, writeExpertDemos } from './helpers.ts';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/stride.js');
let data = '';

const STEPS = 120;
function args(out: string, extra: string[] = []): string[] {
  return [bin, 'train', '--method', 'diffusion', '--scene', 'toy/point_reach', '--data', data, '--steps', String(STEPS), '--out', out,
    '--seed', '7', '--batch', '32', '--checkpoint-every', '20', '--backend', 'wasm', '--config', 'width=32', '--config', 'depth=2', '--config', 'trainSteps=20', ...extra];
}

beforeAll(async () => {
  await loadScenesForTest();
  data = path.join(tmp(), 'demos');
  writeExpertDemos(data, 'toy/point_reach', 5, 0);
});

describe('resume after SIGKILL', () => {
  it('ends bit-identical to an uninterrupted run', async () => {
    const dirA = path.join(tmp(), 'A'), dirB = path.join(tmp(), 'B');
    const a = spawnSync(process.execPath, args(dirA), { cwd: root, encoding: 'utf8' });
    expect(a.status, a.stderr).toBe(0);

    // --- run B: kill -9 as soon as checkpoint 40 exists ---
    const child = spawn(process.execPath, args(dirB), { cwd: root, stdio: 'ignore' });
    const exited = new Promise<{ code: number | null; signal: string | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
    let killedAt = -1;
    for (;;) {
      if (existsSync(path.join(dirB, 'checkpoints', '40'))) { child.kill('SIGKILL'); break; }
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const ex = await exited;
    expect(ex.signal).toBe('SIGKILL');
    killedAt = Number(readFileSync(path.join(dirB, 'latest'), 'utf8'));
    expect(killedAt).toBeLessThan(STEPS);

    const b = spawnSync(process.execPath, args(dirB, ['--resume']), { cwd: root, encoding: 'utf8' });
    expect(b.status, b.stderr).toBe(0);
    const ck = (d: string, f: string) => readFileSync(path.join(d, 'checkpoints', String(STEPS), f));
    for (const f of ['weights.bin', 'train_state.bin']) expect(ck(dirB, f).equals(ck(dirA, f)), `${f} differs after resume from ${killedAt}`).toBe(true);
    const ts = (d: string) => JSON.parse(ck(d, 'train_state.json').toString()).trainer;
    expect(ts(dirB)).toEqual(ts(dirA));

    // --- corrupt config: one-line error naming the file, nothing overwritten ---
    writeFileSync(path.join(dirB, 'config.json'), '{"method": "diffusion", ');
    const before = readFileSync(path.join(dirB, 'latest'), 'utf8');
    const c = spawnSync(process.execPath, args(dirB, ['--resume']), { cwd: root, encoding: 'utf8' });
    expect(c.status).not.toBe(0);
    expect(c.stderr.trim().split('\n')).toHaveLength(1);
    expect(c.stderr).toMatch(/corrupt run config .*config\.json: invalid JSON/);
    expect(readFileSync(path.join(dirB, 'config.json'), 'utf8')).toBe('{"method": "diffusion", ');
    expect(readFileSync(path.join(dirB, 'latest'), 'utf8')).toBe(before);
  }, 300_000);
});
