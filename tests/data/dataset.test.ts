/**
 * Dataset format: write → read round trip (columns, episodes, stats), crash safety (a throwing writer and a SIGKILLed
 * child leave nothing at the target), overwrite refusal / --force replacement, validation errors naming the file, and
 * SequenceSampler padding against a hand-computed fixture.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ACTION, OBS_DEPTH, OBS_STATE, type Features } from '../../sim/core/index.ts';
import { DatasetWriter, readDataset, SequenceSampler, writeDataset, type Dataset } from '../../sim/data/dataset.ts';
import { readNpy, writeNpy } from '../../sim/data/npy.ts';
import { Rng } from '../../sim/math/rng.ts';
import { ROOT } from '../helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'stride-ds-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const features: Features = {
  [OBS_STATE]: { kind: 'state', shape: [3], dtype: 'float32' },
  [OBS_DEPTH]: { kind: 'depth', shape: [2, 2], dtype: 'uint8' },
  'observation.intent': { kind: 'intent', shape: [1], dtype: 'int32' },
  [ACTION]: { kind: 'action', shape: [2], dtype: 'float32', low: -1, high: 1 },
};

function makeEpisode(rng: Rng, T: number) {
  return {
    [OBS_STATE]: Float32Array.from({ length: T * 3 }, () => rng.normal(5, 2)),
    [OBS_DEPTH]: Uint8Array.from({ length: T * 4 }, () => rng.int(256)),
    'observation.intent': Int32Array.from({ length: T }, () => rng.int(4)),
    [ACTION]: Float32Array.from({ length: T * 2 }, () => rng.uniform(-1, 1)),
  };
}

/** Sibling entries of a target that look like our temp folders. */
function leftovers(dir: string): string[] {
  const parent = join(dir, '..'), base = dir.split('/').pop()!;
  return readdirSync(parent).filter((n) => n.startsWith(`${base}.`));
}

describe('dataset write → read', () => {
  it('writes per-frame next.reward / next.done (numpy-readable) when asked, and refuses episodes without them', async () => {
    const rng = new Rng(4);
    const lengths = [3, 4];
    const eps = lengths.map((T, i) => ({
      seed: i, success: true, columns: makeEpisode(rng, T),
      reward: Array.from({ length: T }, (_, t) => t * 0.5 - i), done: Array.from({ length: T }, (_, t) => t === T - 1),
    }));
    const dir = join(root, 'tr');
    const info = writeDataset(dir, { sceneId: 'toy/point_reach', fps: 20, features, episodes: eps, transitions: true });
    expect(info.transitions).toEqual({ 'next.reward': 'data/next.reward.npy', 'next.done': 'data/next.done.npy' });
    const ds = await readDataset(dir);
    expect(Array.from(ds.transitions!.reward)).toEqual([0, 0.5, 1, -1, -0.5, 0, 0.5]);
    expect(Array.from(ds.transitions!.done)).toEqual([0, 0, 1, 0, 0, 0, 1]);
    expect(readNpy(join(dir, 'data', 'next.done.npy'))).toMatchObject({ dtype: 'uint8', shape: [7] });
    expect(readNpy(join(dir, 'data', 'next.reward.npy'))).toMatchObject({ dtype: 'float32', shape: [7] });
    expect(() => writeDataset(join(root, 'tr2'), { sceneId: 's', fps: 20, features, transitions: true, episodes: [{ seed: 0, success: true, columns: makeEpisode(rng, 2) }] }))
      .toThrow(/needs reward and done per frame/);
    expect(existsSync(join(root, 'tr2'))).toBe(false);
  });

  it('round-trips columns, episodes and stats exactly', async () => {
    const rng = new Rng(1);
    const lengths = [5, 1, 9];
    const eps = lengths.map((T, i) => ({ seed: 100 + i, success: i !== 1, labels: { block: i, zone: `z${i}` }, columns: makeEpisode(rng, T) }));
    const dir = join(root, 'rt');
    const info = writeDataset(dir, { sceneId: 'toy/point_reach', fps: 20, features, episodes: eps });
    expect(info.numFrames).toBe(15);
    const ds = await readDataset(dir);
    expect(ds.info).toMatchObject({ sceneId: 'toy/point_reach', fps: 20, numEpisodes: 3, numFrames: 15, formatVersion: 2 });
    expect(ds.transitions).toBeNull();
    expect(ds.info.features).toEqual(features);
    expect(Array.from(ds.episodeEnds)).toEqual([5, 6, 15]);
    expect(ds.episodes).toEqual(eps.map((e, i) => ({ index: i, length: lengths[i], seed: e.seed, success: e.success, labels: e.labels })));
    for (const k of Object.keys(features)) {
      const concat = eps.flatMap((e) => Array.from((e.columns as Record<string, ArrayLike<number>>)[k]!));
      expect(ds.columns[k]!.constructor).toBe((eps[0]!.columns as Record<string, object>)[k]!.constructor);
      expect(Array.from(ds.columns[k]!)).toEqual(concat);
      // Stats recomputed naively from the input.
      const size = k === OBS_STATE ? 3 : k === OBS_DEPTH ? 4 : k === ACTION ? 2 : 1;
      const n = concat.length / size;
      for (let j = 0; j < size; j++) {
        const col = Array.from({ length: n }, (_, t) => concat[t * size + j]!);
        const mean = col.reduce((a, b) => a + b, 0) / n;
        const std = Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
        expect(ds.stats[k]!.min[j]).toBe(Math.min(...col));
        expect(ds.stats[k]!.max[j]).toBe(Math.max(...col));
        expect(ds.stats[k]!.mean[j]).toBeCloseTo(mean, 9);
        expect(ds.stats[k]!.std[j]).toBeCloseTo(std, 9);
      }
    }
    expect(leftovers(dir)).toEqual([]);
  });

  it('accepts per-frame arrays and rejects mismatched episodes with clear errors', () => {
    const f: Features = { [OBS_STATE]: features[OBS_STATE]!, [ACTION]: features[ACTION]! };
    const w = new DatasetWriter(join(root, 'frames'), { sceneId: 's', fps: 10, features: f });
    w.addEpisode({ seed: 0, success: true }, { [OBS_STATE]: [Float32Array.of(1, 2, 3), Float32Array.of(4, 5, 6)], [ACTION]: [Float32Array.of(0, 0), Float32Array.of(1, 1)] });
    expect(() => w.addEpisode({ seed: 1, success: true }, { [OBS_STATE]: new Float32Array(6), [ACTION]: new Float32Array(2) })).toThrow(/'action' has 1 frames, other features have 2/);
    expect(() => w.addEpisode({ seed: 1, success: true }, { [OBS_STATE]: new Float32Array(6) })).toThrow(/missing feature 'action'/);
    expect(() => w.addEpisode({ seed: 1, success: true }, { [OBS_STATE]: new Int32Array(6), [ACTION]: new Float32Array(4) })).toThrow(/'observation.state' is float32 but the column is a Int32Array/);
    expect(() => w.addEpisode({ seed: 1, success: true }, { [OBS_STATE]: Float32Array.of(NaN, 0, 0), [ACTION]: new Float32Array(2) })).toThrow(/not finite/);
    w.finish();
    expect(existsSync(join(root, 'frames', 'meta', 'info.json'))).toBe(true);
  });
});

describe('crash safety and overwriting', () => {
  it('a writer that throws after 2 episodes leaves nothing at the target', () => {
    const dir = join(root, 'crash');
    const rng = new Rng(2);
    function* episodes() {
      for (let i = 0; ; i++) {
        if (i === 2) throw new Error('simulated crash');
        yield { seed: i, success: true, columns: makeEpisode(rng, 4) };
      }
    }
    expect(() => writeDataset(dir, { sceneId: 's', fps: 10, features, episodes: episodes() })).toThrow('simulated crash');
    expect(existsSync(dir)).toBe(false);
    expect(leftovers(dir)).toEqual([]);
  });

  it('a SIGKILLed writer process leaves no dataset at the target; the next writer removes its temp folder', async () => {
    const dir = join(root, 'killed');
    const script = join(root, 'slow_writer.ts');
    writeFileSync(script, `
import { DatasetWriter } from ${JSON.stringify(join(ROOT, 'sim/data/dataset.ts'))};
const w = new DatasetWriter(process.argv[2]!, { sceneId: 's', fps: 10, features: { 'observation.state': { kind: 'state', shape: [1000], dtype: 'float32' } } });
for (let i = 0; i < 2; i++) w.addEpisode({ seed: i, success: true }, { 'observation.state': new Float32Array(50 * 1000).fill(i) });
process.stdout.write('mid-write\\n');
setInterval(() => w.addEpisode({ seed: 9, success: true }, { 'observation.state': new Float32Array(1000) }), 5);
`);
    const child = spawn(process.execPath, ['--import', 'tsx', script, dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += String(d); });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => { if (String(d).includes('mid-write')) resolve(); });
      child.on('exit', (code) => reject(new Error(`writer exited early (${code}): ${err}`)));
    });
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(existsSync(dir)).toBe(false);
    const temps = leftovers(dir);
    expect(temps.length).toBe(1); // the dead process's temp folder, beside (not at) the target
    expect(temps[0]).toMatch(new RegExp(`^killed\\.tmp-${child.pid}-`));
    // A new writer for the same target cleans up after the dead one and succeeds.
    writeDataset(dir, { sceneId: 's', fps: 10, features, episodes: [{ seed: 0, success: true, columns: makeEpisode(new Rng(3), 2) }] });
    expect(leftovers(dir)).toEqual([]);
    expect((await readDataset(dir)).info.numFrames).toBe(2);
  });

  it('refuses to overwrite without force; with force replaces only once the new dataset is complete', async () => {
    const dir = join(root, 'over');
    const one = (seed: number, T: number) => ({ seed, success: true, columns: makeEpisode(new Rng(seed), T) });
    writeDataset(dir, { sceneId: 's', fps: 10, features, episodes: [one(1, 3)] });
    expect(() => writeDataset(dir, { sceneId: 's', fps: 10, features, episodes: [one(2, 4)] })).toThrow(/already exists .*force/);
    // A forced write that crashes leaves the old dataset intact.
    function* crashing() { yield one(3, 5); throw new Error('boom'); }
    expect(() => writeDataset(dir, { sceneId: 's', fps: 10, features, episodes: crashing() }, { force: true })).toThrow('boom');
    expect((await readDataset(dir)).episodes.map((e) => e.seed)).toEqual([1]);
    writeDataset(dir, { sceneId: 's', fps: 10, features, episodes: [one(4, 6)] }, { force: true });
    const ds = await readDataset(dir);
    expect(ds.episodes.map((e) => e.seed)).toEqual([4]);
    expect(ds.info.numFrames).toBe(6);
    expect(leftovers(dir)).toEqual([]);
    // Never replaces a folder that is not a dataset, even with force.
    const other = join(root, 'not-a-dataset');
    writeDataset(join(other, 'x'), { sceneId: 's', fps: 10, features, episodes: [one(1, 1)] });
    expect(() => writeDataset(other, { sceneId: 's', fps: 10, features, episodes: [one(1, 1)] }, { force: true })).toThrow(/not a Stride dataset; refusing/);
  });
});

describe('readDataset validation', () => {
  async function fresh(name: string): Promise<string> {
    const dir = join(root, name);
    writeDataset(dir, { sceneId: 's', fps: 10, features, episodes: [{ seed: 0, success: true, columns: makeEpisode(new Rng(5), 4) }, { seed: 1, success: false, columns: makeEpisode(new Rng(6), 3) }] });
    return dir;
  }
  const oneLine = async (p: Promise<unknown>, re: RegExp) => {
    const e = await p.then(() => null, (x: Error) => x);
    expect(e, 'expected an error').not.toBeNull();
    expect(e!.message).toMatch(re);
    expect(e!.message).not.toContain('\n');
  };

  it('names the broken file', async () => {
    let d = await fresh('v1');
    writeNpy(join(d, 'data', 'action.npy'), new Float32Array(6 * 2), [6, 2]);
    await oneLine(readDataset(d), /corrupt dataset file .*data\/action\.npy: shape \[6, 2\], expected \[7, 2\]/);
    d = await fresh('v2');
    writeFileSync(join(d, 'meta', 'info.json'), '{"formatVersion": 1, "sceneId": ');
    await oneLine(readDataset(d), /corrupt dataset file .*meta\/info\.json: invalid JSON/);
    d = await fresh('v3');
    const info = JSON.parse(readFileSync(join(d, 'meta', 'info.json'), 'utf8'));
    writeFileSync(join(d, 'meta', 'info.json'), JSON.stringify({ ...info, formatVersion: 99 }));
    await oneLine(readDataset(d), /meta\/info\.json: unsupported formatVersion 99/);
    d = await fresh('v4');
    writeNpy(join(d, 'data', 'episode_ends.npy'), Int32Array.of(4, 6), [2]);
    await oneLine(readDataset(d), /data\/episode_ends\.npy: last end 6 ≠ numFrames 7/);
    d = await fresh('v5');
    const f = join(d, 'data', 'observation.state.npy');
    writeFileSync(f, readFileSync(f).subarray(0, 140));
    await oneLine(readDataset(d), /corrupt npy file .*observation\.state\.npy: truncated data/);
    d = await fresh('v6');
    writeFileSync(join(d, 'meta', 'episodes.jsonl'), '{"index":0,"length":4,"seed":0}\n');
    await oneLine(readDataset(d), /meta\/episodes\.jsonl: 1 lines, expected 2/);
    await oneLine(readDataset(join(root, 'nope')), /dataset not found/);
  });
});

describe('SequenceSampler', () => {
  // Two episodes: frames 0..3 (values 0..3) and 4..6 (values 10..12); obs = [v, −v], action = [v].
  const obsVals = [0, 1, 2, 3, 10, 11, 12];
  const ds: Pick<Dataset, 'info' | 'columns' | 'episodeEnds'> = {
    info: {
      formatVersion: 1, sceneId: 's', fps: 10, numEpisodes: 2, numFrames: 7, files: {},
      features: { [OBS_STATE]: { kind: 'state', shape: [2], dtype: 'float32' }, [ACTION]: { kind: 'action', shape: [1], dtype: 'float32' } },
    },
    columns: { [OBS_STATE]: Float32Array.from(obsVals.flatMap((v) => [v, -v])), [ACTION]: Float32Array.from(obsVals) },
    episodeEnds: Int32Array.of(4, 7),
  };

  it('pads by repeating the first/last frame of the episode, never crossing a boundary (hand-computed)', () => {
    const s = new SequenceSampler(ds, { obsHorizon: 2, actionHorizon: 3 });
    const b = s.batch([0, 3, 4, 6]);
    // obs windows [t-1, t]: anchor 0 → [0*, 0]; 3 → [2, 3]; 4 → [10*, 10] (not 3!); 6 → [11, 12]
    expect(Array.from(b.obs[OBS_STATE]!)).toEqual([0, -0, 0, -0, 2, -2, 3, -3, 10, -10, 10, -10, 11, -11, 12, -12]);
    expect(Array.from(b.obsIsPad)).toEqual([1, 0, 0, 0, 1, 0, 0, 0]);
    // action windows [t, t+2]: 0 → [0,1,2]; 3 → [3, 3*, 3*] (not 10!); 4 → [10,11,12]; 6 → [12, 12*, 12*]
    expect(Array.from(b.action)).toEqual([0, 1, 2, 3, 3, 3, 10, 11, 12, 12, 12, 12]);
    expect(Array.from(b.actionIsPad)).toEqual([0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1]);
  });

  it('supports the Diffusion Policy offset and seeded, reproducible draws', () => {
    const dp = new SequenceSampler(ds, { obsHorizon: 2, actionHorizon: 4, actionOffset: -1 });
    expect(Array.from(dp.batch([4]).action)).toEqual([10, 10, 11, 12]);
    expect(Array.from(dp.batch([4]).actionIsPad)).toEqual([1, 0, 0, 0]);
    const a = new SequenceSampler(ds, { obsHorizon: 1, actionHorizon: 2, seed: 7 }).sample(32);
    const b = new SequenceSampler(ds, { obsHorizon: 1, actionHorizon: 2, seed: 7 }).sample(32);
    const c = new SequenceSampler(ds, { obsHorizon: 1, actionHorizon: 2, seed: 8 }).sample(32);
    expect(Array.from(a.anchors)).toEqual(Array.from(b.anchors));
    expect(Array.from(a.anchors)).not.toEqual(Array.from(c.anchors));
    expect(new Set(a.anchors).size).toBeGreaterThan(4);
    expect(a.obs[OBS_STATE]!.length).toBe(32 * 1 * 2);
    expect(a.action.length).toBe(32 * 2 * 1);
    expect(() => new SequenceSampler(ds, { obsHorizon: 0, actionHorizon: 1 })).toThrow(/obsHorizon/);
    expect(() => new SequenceSampler(ds, { obsHorizon: 1, actionHorizon: 1, keys: ['observation.nope'] })).toThrow(/no feature 'observation.nope'/);
  });
});
