/**
 * Smoke tests of the real `stride` entry point: demos → dataset, rollout --record → replay --verify, and the error
 * paths (existing dataset without --force, unknown scene, tampered/truncated/missing recordings).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDataset } from '../../sim/data/dataset.ts';
import { TOPICS } from '../../sim/data/recorder.ts';
import { spawn } from 'node:child_process';
import { ROOT, STRIDE } from '../helpers.ts';
import { rewriteMcap } from './mcap_helpers.ts';

/** Each test spawns several real CLI processes; generous timeouts for a shared, loaded machine. */
const SLOW = 400_000;

const dir = mkdtempSync(join(tmpdir(), 'stride-cli-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run the real CLI asynchronously (a blocking spawnSync starves vitest's worker RPC on a loaded machine). */
function stride(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [STRIDE, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += String(d); });
    p.stderr.on('data', (d) => { stderr += String(d); });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const oneLineError = (r: { code: number; stderr: string }, re: RegExp) => {
  expect(r.code).not.toBe(0);
  expect(r.stderr.trim()).toMatch(re);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
};

describe('stride demos', () => {
  it('writes an expert dataset, refuses to overwrite it, replaces it with --force', async () => {
    const out = join(dir, 'demos');
    const r = await stride(['demos', '--scene', 'toy/point_reach', '--episodes', '3', '--seed', '5', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^wrote 3 expert episodes of toy\/point_reach to .*demos: \d+ frames, success 100\.0% \(95% CI \d+\.\d–100\.0%\)$/);
    const ds = await readDataset(out);
    expect(ds.info.sceneId).toBe('toy/point_reach');
    expect(Object.keys(ds.info.features).sort()).toEqual(['action', 'observation.state']);
    expect(ds.episodes.map((e) => [e.seed, e.success])).toEqual([[5, true], [6, true], [7, true]]);
    expect(ds.info.fps).toBe(20);
    const first = readFileSync(join(out, 'data', 'action.npy'));

    oneLineError(await stride(['demos', '--scene', 'toy/point_reach', '--episodes', '1', '--out', out]), /^stride: dataset .* already exists \(use --force/);
    expect(readFileSync(join(out, 'data', 'action.npy'))).toEqual(first);

    const f = await stride(['demos', '--scene', 'toy/point_reach', '--episodes', '2', '--seed', '0', '--out', out, '--force', '--json', '--set', 'maxSteps=40']);
    expect(f.code, f.stderr).toBe(0);
    const j = JSON.parse(f.stdout);
    expect(j).toMatchObject({ scene: 'toy/point_reach', episodes: 2, seed: 0 });
    expect((await readDataset(out)).episodes.map((e) => e.seed)).toEqual([0, 1]);
  }, SLOW);

  it('an unknown scene is a one-line error and creates nothing', async () => {
    const out = join(dir, 'bad');
    oneLineError(await stride(['demos', '--scene', 'toy/nope', '--episodes', '1', '--out', out]), /^stride: unknown scene 'toy\/nope'/);
    expect(existsSync(out)).toBe(false);
  }, SLOW);
});

describe('stride rollout --record / replay --verify', () => {
  it('round-trips, and flags tampered, truncated and missing recordings', async () => {
    const file = join(dir, 'run.mcap');
    const r = await stride(['rollout', '--scene', 'toy/point_reach', '--policy', 'random', '--episodes', '2', '--seed', '3', '--record', file, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const lengths = (JSON.parse(r.stdout).episodes as { length: number }[]).map((e) => e.length);
    const v = await stride(['replay', file, '--verify', '--json']);
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ verified: true, steps: lengths[0]! + lengths[1]!, firstMismatch: null });

    const bad = join(dir, 'tampered.mcap');
    await rewriteMcap(file, bad, (topic, m) => (topic === TOPICS.step && m.episode === 0 && m.step === 2 ? { ...m, action: [0.123, -0.456] } : m));
    const t = await stride(['replay', bad, '--verify', '--json']);
    expect(t.code).toBe(1);
    const tj = JSON.parse(t.stdout);
    expect(tj.verified).toBe(false);
    expect(tj.firstMismatch).toMatchObject({ episode: 0, step: 2 });
    expect(tj.steps).toBe(3);

    const half = join(dir, 'half.mcap');
    const bytes = readFileSync(file);
    writeFileSync(half, bytes.subarray(0, bytes.length >> 1));
    // Cut before its first complete meta record: nothing readable, a one-line error (a later cut reads as a prefix: crash.test.ts).
    oneLineError(await stride(['replay', half, '--verify', '--json']), /^stride: corrupt MCAP file .*half\.mcap: truncated/);
    oneLineError(await stride(['replay', join(dir, 'missing.mcap'), '--verify']), /^stride: recording not found/);
  }, SLOW);
});
