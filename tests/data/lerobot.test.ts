/**
 * `stride export-dataset --format lerobot`: every file of the export is read back with an independent parquet reader
 * (DuckDB, a C++ implementation — not the writer's library) and checked against the source dataset: rows, columns,
 * parquet types, values, episode boundaries, the episodes/tasks metadata, and info.json / stats.json against both.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featureSize } from '../../sim/core/index.ts';
import { readDataset, type Dataset } from '../../sim/data/dataset.ts';
import { recordExpertEpisodes } from '../../sim/data/demos.ts';
import { exportLeRobot } from '../../sim/data/lerobot.ts';
import { initPhysics } from '../../sim/physics/index.ts';
import { ROOT } from '../helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'stride-lerobot-'));
let con: DuckDBConnection;
beforeAll(async () => {
  await initPhysics();
  await import('../../scenes/index.ts');
  con = await (await DuckDBInstance.create(':memory:')).connect();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const q = async (sql: string) => (await con.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];

/** Check an export at `out` against its source `ds`, file by file, through DuckDB. */
async function checkExport(ds: Dataset, out: string) {
  const info = JSON.parse(readFileSync(join(out, 'meta', 'info.json'), 'utf8'));
  expect(info).toMatchObject({
    codebase_version: 'v3.0', total_episodes: ds.info.numEpisodes, total_frames: ds.info.numFrames, total_tasks: 1, chunks_size: 1000,
    fps: ds.info.fps, splits: { train: `0:${ds.info.numEpisodes}` }, data_path: 'data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet', video_path: null,
  });
  const keys = Object.keys(ds.info.features);
  const defaults = ['timestamp', 'frame_index', 'episode_index', 'index', 'task_index', 'next.reward', 'next.done'];
  expect(Object.keys(info.features)).toEqual([...keys, ...defaults]);
  const dataGlob = join(out, 'data', '*', '*.parquet');
  // --- schema: columns and parquet types as LeRobot's features declare them ---
  const cols = Object.fromEntries((await q(`DESCRIBE SELECT * FROM read_parquet('${dataGlob}')`)).map((r) => [r.column_name, r.column_type]));
  expect(Object.keys(cols)).toEqual(Object.keys(info.features));
  const duck: Record<string, string> = { float32: 'FLOAT', int32: 'INTEGER', uint8: 'UTINYINT', int64: 'BIGINT', bool: 'BOOLEAN' };
  for (const [k, f] of Object.entries(info.features) as [string, { dtype: string; shape: number[] }][]) {
    const dims = f.shape.length === 1 && f.shape[0] === 1 ? 0 : f.shape.length;
    expect(cols[k], k).toBe(duck[f.dtype] + '[]'.repeat(dims));
  }
  // --- rows and values, in global index order ---
  const rows = await q(`SELECT * FROM read_parquet('${dataGlob}') ORDER BY "index"`);
  expect(rows.length).toBe(ds.info.numFrames);
  const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [Number(v)]);
  for (const k of keys) {
    const size = featureSize(ds.info.features[k]!), col = ds.columns[k]!;
    for (const t of [0, 1, ds.info.numFrames - 1]) expect(flat(rows[t]![k]), `${k}[${t}]`).toEqual(Array.from(col.subarray(t * size, (t + 1) * size)));
    const shape = info.features[k].shape as number[];
    if (shape.length === 2) expect([(rows[0]![k] as unknown[]).length, ((rows[0]![k] as unknown[][])[0]!).length]).toEqual(shape);
  }
  // --- episode boundaries ---
  let start = 0;
  ds.episodeEnds.forEach((end, e) => {
    for (let t = start; t < end; t++) {
      const r = rows[t]!;
      expect([Number(r.index), Number(r.episode_index), Number(r.frame_index), Number(r.task_index)]).toEqual([t, e, t - start, 0]);
      expect(r.timestamp).toBeCloseTo((t - start) / ds.info.fps, 5);
      expect(r['next.reward']).toBe(ds.transitions!.reward[t]);
      expect(r['next.done']).toBe(ds.transitions!.done[t] === 1);
    }
    expect(rows[end - 1]!['next.done']).toBe(true);
    start = end;
  });
  // --- meta/episodes ---
  const eps = await q(`SELECT * FROM read_parquet('${join(out, 'meta', 'episodes', 'chunk-000', 'file-000.parquet')}') ORDER BY episode_index`);
  expect(eps.length).toBe(ds.info.numEpisodes);
  for (const [e, r] of eps.entries()) {
    expect({
      from: Number(r.dataset_from_index), to: Number(r.dataset_to_index), length: Number(r.length), tasks: r.tasks, seed: Number(r.seed), success: r.success,
    }).toEqual({
      from: e === 0 ? 0 : ds.episodeEnds[e - 1], to: ds.episodeEnds[e], length: ds.episodes[e]!.length, tasks: [ds.info.sceneId], seed: ds.episodes[e]!.seed, success: ds.episodes[e]!.success,
    });
    // The data file it names holds the whole episode.
    const file = join(out, info.data_path.replace('{chunk_index:03d}', String(r['data/chunk_index']).padStart(3, '0')).replace('{file_index:03d}', String(r['data/file_index']).padStart(3, '0')));
    expect(await q(`SELECT count(*)::INTEGER AS n FROM read_parquet('${file}') WHERE episode_index = ${e}`)).toEqual([{ n: ds.episodes[e]!.length }]);
  }
  // --- meta/tasks.parquet (task string + index; pandas metadata makes `task` the index) ---
  expect(await q(`SELECT task_index, task FROM read_parquet('${join(out, 'meta', 'tasks.parquet')}')`)).toEqual([{ task_index: '0', task: ds.info.sceneId }]);
  const kv = await q(`SELECT decode(key) AS key, decode(value) AS value FROM parquet_kv_metadata('${join(out, 'meta', 'tasks.parquet')}')`);
  expect(JSON.parse(kv.find((r) => r.key === 'pandas')!.value as string).index_columns).toEqual(['task']);
  // --- meta/stats.json: Stride's stats, shaped like the features; quantiles; count ---
  const stats = JSON.parse(readFileSync(join(out, 'meta', 'stats.json'), 'utf8'));
  expect(Object.keys(stats).sort()).toEqual(Object.keys(info.features).sort());
  for (const k of keys) {
    for (const s of ['min', 'max', 'mean', 'std'] as const) {
      const got = flat(stats[k][s]), want = ds.stats[k]![s];
      expect(got.length).toBe(want.length);
      got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 4));
    }
    expect(stats[k].count).toEqual([ds.info.numFrames]);
    expect(flat(stats[k].q50).every((v, i) => v >= flat(stats[k].min)[i]! && v <= flat(stats[k].max)[i]!)).toBe(true);
  }
  expect(stats['next.done'].max).toEqual([1]);
  expect(stats.index).toMatchObject({ min: [0], max: [ds.info.numFrames - 1] });
}

describe('LeRobot export', () => {
  it('a dataset with depth, tactile and state exports to LeRobot v3.0 that DuckDB reads back exactly', async () => {
    const src = join(dir, 'push'), out = join(dir, 'push-lerobot');
    recordExpertEpisodes({ sceneId: 'manip/push_block', overrides: { maxSteps: 15 } }, { out: src, episodes: 3, seed0: 2 });
    const ds = await readDataset(src);
    expect(ds.transitions).not.toBeNull();
    expect(Object.keys(ds.info.features)).toContain('observation.depth');
    exportLeRobot(ds, { out });
    await checkExport(ds, out);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('splits whole episodes over data files by size; the CLI refuses an existing OUT and bad input in one line', async () => {
    const src = join(dir, 'reach'), out = join(dir, 'reach-lerobot');
    recordExpertEpisodes({ sceneId: 'toy/point_reach' }, { out: src, episodes: 4, seed0: 0 });
    const ds = await readDataset(src);
    const r = exportLeRobot(ds, { out, dataFileSizeMb: 1e-4 }); // ~100 bytes: one episode per file
    expect(r.dataFiles).toEqual([0, 1, 2, 3].map((i) => `data/chunk-000/file-00${i}.parquet`));
    await checkExport(ds, out);
    const eps = await q(`SELECT episode_index, "data/file_index" AS f FROM read_parquet('${join(out, 'meta', 'episodes', 'chunk-000', 'file-000.parquet')}') ORDER BY episode_index`);
    expect(eps.map((e) => Number(e.f))).toEqual([0, 1, 2, 3]);
    const cli = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin', 'stride.js'), 'export-dataset', ...args], { encoding: 'utf8' });
    const exists = cli(src, '--format', 'lerobot', '--out', out);
    expect(exists.status).toBe(1);
    expect(exists.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^stride: .*already exists \(use --force/)]);
    const missing = cli(join(dir, 'nope'), '--format', 'lerobot', '--out', join(dir, 'x'));
    expect(missing.status).not.toBe(0);
    expect(missing.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^stride: dataset not found/)]);
    expect(existsSync(join(dir, 'x'))).toBe(false);
    const ok = cli(src, '--format', 'lerobot', '--out', out, '--force', '--json');
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ format: 'lerobot', codebaseVersion: 'v3.0', episodes: 4, dataFiles: ['data/chunk-000/file-000.parquet'] });
  });
});
