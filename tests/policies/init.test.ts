/**
 * Warm starts through the real CLI (`stride train --init RUN[:STEP]`): the child's checkpoint 0 — the weights its
 * first update starts from — holds the parent's EMA (inference) weights bit for bit, as live weights and as the EMA
 * shadow, in-process and with two data-parallel workers (where checkpoint 0 is read back from every replica); the
 * warm start is recorded in config.json and in every manifest; a parameter of another shape is a one-line error
 * naming the checkpoint and the parameter, with no run folder left; --init with --resume is refused. PPO's online
 * loop warm-starts the same way.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readManifest, readModelWeights, readTrainState } from '../../policies/train/checkpoint.ts';
import { loadScenesForTest, tmp, writeExpertDemos } from './helpers.ts';
import { strideAsync } from '../helpers.ts';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/stride.js');
let data = '', parent = '';
const PARENT_STEPS = 30;

/** A tiny diffusion run (it keeps an EMA, so inference ≠ live weights). */
const diffusion = (out: string, steps: number, extra: string[] = []): string[] => [
  bin, 'train', '--method', 'diffusion', '--scene', 'toy/point_reach', '--data', data, '--steps', String(steps), '--out', out, '--seed', '3',
  '--batch', '32', '--backend', 'wasm', '--config', 'depth=2', '--config', 'trainSteps=20', ...extra,
];
/** The real CLI in a child process, without blocking this worker (vitest's RPC must keep flowing on a loaded machine). */
const stride = async (args: string[]) => { const r = await strideAsync(args.slice(1), { cwd: root, timeoutMs: 600_000 }); return { status: r.code, stderr: r.stderr, stdout: r.stdout }; };
const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Every array of `want` is present in `got` (under prefix) with identical bits. */
function expectSameBits(got: Record<string, Float32Array>, want: Record<string, Float32Array>, prefix: string, what: string): void {
  expect(Object.keys(want).length).toBeGreaterThan(0);
  for (const [n, w] of Object.entries(want)) {
    const g = got[`${prefix}${n}`];
    expect(g, `${what}: no ${prefix}${n}`).toBeDefined();
    expect(bytes(g!).equals(bytes(w)), `${what}: ${prefix}${n} differs from the parent's inference weights`).toBe(true);
  }
}

beforeAll(async () => {
  await loadScenesForTest();
  data = path.join(tmp(), 'demos');
  writeExpertDemos(data, 'toy/point_reach', 5, 0);
  parent = path.join(tmp(), 'parent');
  const r = await stride(diffusion(parent, PARENT_STEPS, ['--config', 'width=32', '--checkpoint-every', String(PARENT_STEPS)]));
  expect(r.status, r.stderr).toBe(0);
}, 600_000);

describe('stride train --init', () => {
  it("starts in-process and data-parallel runs from the parent's EMA weights, bit for bit, and records it", async () => {
    const pck = path.join(parent, 'checkpoints', String(PARENT_STEPS));
    const inference = readModelWeights(pck);
    // The test can tell EMA from live weights: the parent's EMA has not caught up with its live weights.
    const live = readTrainState(pck).arrays;
    expect(Object.keys(inference).some((n) => !bytes(inference[n]!).equals(bytes(live[`param/${n}`]!)))).toBe(true);

    for (const [name, extra] of [['inproc', [`--init`, parent]], ['dp2', ['--init', `${parent}:${PARENT_STEPS}`, '--workers', '2']]] as const) {
      const child = path.join(tmp(), name);
      const r = await stride(diffusion(child, 2, ['--config', 'width=32', '--checkpoint-every', '2', ...extra]));
      expect(r.status, `${name}: ${r.stderr}`).toBe(0);

      // --- checkpoint 0: the weights step 1 starts from (with workers: every replica's, checked equal) ---
      const c0 = path.join(child, 'checkpoints', '0');
      const st = readTrainState(c0);
      expect(st.step).toBe(0);
      expect(st.adamStep).toBe(0);
      expectSameBits(st.arrays, inference, 'param/', `${name} live`);
      expectSameBits(st.arrays, inference, 'ema/', `${name} EMA`);
      expect(readFileSync(path.join(c0, 'weights.bin')).equals(readFileSync(path.join(pck, 'weights.bin')))).toBe(true);
      // ... and training went on from there.
      expect(readFileSync(path.join(child, 'checkpoints', '2', 'weights.bin')).equals(readFileSync(path.join(c0, 'weights.bin')))).toBe(false);

      // --- recorded: config.json and every manifest ---
      const ref = { run: parent, step: PARENT_STEPS, checkpoint: pck };
      expect(JSON.parse(readFileSync(path.join(child, 'config.json'), 'utf8')).init).toEqual(ref);
      for (const s of ['0', '2']) expect(readManifest(path.join(child, 'checkpoints', s)).init).toEqual(ref);
    }
  }, 240_000);

  it('a mis-shaped parameter is a one-line error naming the checkpoint and the parameter; --resume is refused', async () => {
    const child = path.join(tmp(), 'wide');
    const r = await stride(diffusion(child, 2, ['--config', 'width=64', '--init', parent]));
    expect(r.status).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`--init ${path.join(parent, 'checkpoints', String(PARENT_STEPS)).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: parameter '[^']+' has shape \\[[\\d, ]+\\], this run's is \\[[\\d, ]+\\]`));
    expect(existsSync(child)).toBe(false);

    const missing = await stride(diffusion(path.join(tmp(), 'none'), 2, ['--init', path.join(tmp(), 'no-such-run')]));
    expect(missing.status).not.toBe(0);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/--init .*no-such-run: run or checkpoint not found/);

    const both = await stride(diffusion(parent, PARENT_STEPS, ['--resume', '--init', parent]));
    expect(both.status).toBe(2);
    expect(both.stderr.trim().split('\n')).toHaveLength(1);
    expect(both.stderr).toMatch(/--init .*--resume/);
  }, 600_000);

  it("PPO's online loop starts from the parent's weights", async () => {
    const ppo = (out: string, extra: string[] = []) => stride([bin, 'train', '--method', 'ppo', '--scene', 'toy/point_reach', '--steps', '32', '--out', out,
      '--backend', 'wasm', '--config', 'numEnvs=2', '--config', 'rolloutSteps=16', '--config', 'hidden=[16,16]', ...extra]);
    const p = path.join(tmp(), 'ppo-parent'), c = path.join(tmp(), 'ppo-child');
    const a = await ppo(p);
    expect(a.status, a.stderr).toBe(0);
    const b = await ppo(c, ['--init', p, '--seed', '1']);
    expect(b.status, b.stderr).toBe(0);
    const st = readTrainState(path.join(c, 'checkpoints', '0'));
    expectSameBits(st.arrays, readModelWeights(path.join(p, 'checkpoints', '32')), 'param/', 'ppo live');
    expect(readManifest(path.join(c, 'checkpoints', '32')).init?.checkpoint).toBe(path.join(p, 'checkpoints', '32'));
  }, 600_000);
});
