/**
 * FDP's two phases through the real CLI (`stride train --method fdp`): phase 2 starts from the base run with
 * `--init` — the parent's EMA weights in the base's live and shadow parameters, the residual from its own init (the
 * parent lacks it: `ownInitParams`), the base frozen. After 20 phase-2 steps, in-process and with `--workers 2`, the
 * base (live and EMA) is still the parent's bit for bit and the residual has changed; both start from the same
 * checkpoint 0 (the diffusion noise is drawn per worker, so they are not compared to 1e-3); two data-parallel runs are
 * bit-identical; a resumed phase 2 is bit-identical to an uninterrupted one. A parent without
 * the base's parameters, or with them in another shape, is a one-line error naming the checkpoint.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readModelWeights, readTrainState } from '../../policies/train/checkpoint.ts';
import { loadScenesForTest, tmp, writeExpertDemos } from './helpers.ts';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/stride.js');
let data = '', parent = '';
const PARENT_STEPS = 20;
/** Run the CLI without blocking the test worker's event loop (a loaded machine makes spawnSync starve vitest's RPC). */
const stride = (args: string[]) => new Promise<{ status: number | null; stderr: string }>((resolve) => {
  const c = spawn(process.execPath, [bin, ...args], { cwd: root });
  let stderr = '';
  c.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  c.on('close', (status) => resolve({ status, stderr }));
});
const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A tiny FDP run on toy/point_reach split into two keys. */
const fdp = (out: string, steps: number, phase: string, extra: string[] = []): string[] => [
  'train', '--method', 'fdp', '--scene', 'toy/point_reach', '--data', data, '--steps', String(steps), '--out', out, '--seed', '3', '--batch', '32',
  '--backend', 'wasm', '--checkpoint-every', '10', '--config', `phase=${phase}`, '--config', 'priority=["observation.goal_rel"]', '--config', 'rest=["observation.velocity"]',
  '--config', 'width=32', '--config', 'depth=2', '--config', 'resWidth=16', '--config', 'trainSteps=20', ...extra,
];

beforeAll(async () => {
  await loadScenesForTest();
  data = path.join(tmp(), 'demos');
  writeExpertDemos(data, 'toy/point_reach', 5, 0, { splitObs: true });
  parent = path.join(tmp(), 'base');
  const r = await stride(fdp(parent, PARENT_STEPS, 'base'));
  expect(r.status, r.stderr).toBe(0);
}, 120_000);

describe('FDP phase 2 (stride train --init)', () => {
  it('keeps the base bit-identical (live and EMA) and trains the residual, in-process and data-parallel; DP runs and resume are bit-exact', async () => {
    const inference = readModelWeights(path.join(parent, 'checkpoints', String(PARENT_STEPS)));
    const baseNames = Object.keys(inference);
    expect(baseNames.every((n) => n.startsWith('fdp_base/'))).toBe(true);
    const runs: Record<string, string> = {};
    for (const [name, extra] of [['inproc', []], ['dp2', ['--workers', '2']], ['dp2b', ['--workers', '2']]] as const) {
      runs[name] = path.join(tmp(), name);
      const r = await stride(fdp(runs[name]!, 20, 'residual', ['--init', parent, ...extra]));
      expect(r.status, `${name}: ${r.stderr}`).toBe(0);
      const s0 = readTrainState(path.join(runs[name]!, 'checkpoints', '0')).arrays, s20 = readTrainState(path.join(runs[name]!, 'checkpoints', '20')).arrays;
      for (const n of baseNames) {
        for (const pre of ['param/', 'ema/']) expect(bytes(s20[`${pre}${n}`]!).equals(bytes(inference[n]!)), `${name}: ${pre}${n} moved`).toBe(true);
      }
      const resNames = Object.keys(s20).filter((k) => k.startsWith('param/fdp_res/'));
      expect(resNames.length).toBeGreaterThan(0);
      // the zero-initialised Δ layers started at 0 and have moved
      const delta = resNames.filter((k) => /delta\d+\/W$/.test(k));
      expect(delta.length).toBe(2);
      for (const k of delta) { expect(s0[k]!.every((v) => v === 0)).toBe(true); expect(s20[k]!.some((v) => v !== 0)).toBe(true); }
    }
    // In-process vs data-parallel: the same batches, but a diffusion loss draws its noise per worker (Rng(stepSeed + k)
    // on each shard), so the residuals are two different noisy estimates of the same update — not compared to 1e-3
    // (that holds for noiseless losses, tests/policies/parallel.test.ts); both start from the same checkpoint 0.
    const c0 = (r: string) => readFileSync(path.join(r, 'checkpoints', '0', 'train_state.bin'));
    expect(c0(runs.inproc!).equals(c0(runs.dp2!))).toBe(true);
    const w = (r: string) => readFileSync(path.join(r, 'checkpoints', '20', 'weights.bin'));
    expect(w(runs.dp2!).equals(w(runs.dp2b!))).toBe(true);

    // resume: 10 steps, then --resume to 20 = the uninterrupted in-process run
    const res = path.join(tmp(), 'resumed');
    const r1 = await stride(fdp(res, 10, 'residual', ['--init', parent]));
    expect(r1.status, r1.stderr).toBe(0);
    const r2 = await stride(fdp(res, 20, 'residual', ['--resume']));
    expect(r2.status, r2.stderr).toBe(0);
    expect(readFileSync(path.join(res, 'checkpoints', '20', 'train_state.bin')).equals(readFileSync(path.join(runs.inproc!, 'checkpoints', '20', 'train_state.bin')))).toBe(true);
  }, 400_000);

  it('a parent without the base, or with a mis-shaped base, is a one-line error naming the checkpoint; no run folder is left', async () => {
    const pck = path.join(parent, 'checkpoints', String(PARENT_STEPS));
    const wide = path.join(tmp(), 'wide');
    const r = await stride(fdp(wide, 2, 'residual', ['--init', parent, '--config', 'width=64']));
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`--init ${esc(pck)}: parameter 'fdp_base/[^']+' has shape \\[[\\d, ]+\\], this run's is \\[[\\d, ]+\\]`));
    expect(existsSync(wide)).toBe(false);

    // a diffusion run has none of the base's parameters
    const dp = path.join(tmp(), 'dp');
    const d = await stride(['train', '--method', 'diffusion', '--scene', 'toy/point_reach', '--data', data, '--steps', '2', '--out', dp, '--batch', '32', '--backend', 'wasm', '--config', 'width=16', '--config', 'depth=2', '--config', 'trainSteps=20']);
    expect(d.status, d.stderr).toBe(0);
    const none = path.join(tmp(), 'none');
    const m = await stride(fdp(none, 2, 'residual', ['--init', dp]));
    expect(m.status).not.toBe(0);
    expect(m.stderr.trim().split('\n'), m.stderr).toHaveLength(1);
    expect(m.stderr).toMatch(new RegExp(`--init ${esc(path.join(dp, 'checkpoints', '2'))}: no parameter 'fdp_base/[^']+' in the checkpoint \\(a fdp run needs it\\)`));
    expect(existsSync(none)).toBe(false);
  }, 200_000);
});
