/**
 * Export a Stride dataset (dataset.ts) in the LeRobot dataset format, **codebase_version v3.0** (LeRobotDataset v3:
 * many episodes per parquet file, relational episode metadata), written with hyparquet-writer (pure JS).
 *
 * ```
 * <out>/meta/info.json                              codebase_version, robot_type, total_episodes, total_frames,
 *                                                   total_tasks, chunks_size, data_files_size_in_mb,
 *                                                   video_files_size_in_mb, fps, splits, data_path, video_path, features
 * <out>/meta/stats.json                             per feature: min, max, mean, std, count, q01, q10, q50, q90, q99
 *                                                   (shaped like the feature; population std; quantiles by
 *                                                   sim/math/stats.ts percentile — numpy's default rule)
 * <out>/meta/tasks.parquet                          task_index, task (the pandas index, as LeRobot writes it)
 * <out>/meta/episodes/chunk-000/file-000.parquet    episode_index, tasks, length, data/chunk_index, data/file_index,
 *                                                   dataset_from_index, dataset_to_index, meta/episodes/chunk_index,
 *                                                   meta/episodes/file_index (+ Stride's seed, success, labels)
 * <out>/data/chunk-CCC/file-FFF.parquet             one row per frame: every feature (observation.*, action),
 *                                                   timestamp, frame_index, episode_index, index, task_index,
 *                                                   next.reward, next.done; whole episodes, ≤ ~100 MB per file,
 *                                                   1000 files per chunk
 * ```
 *
 * Types: float32 → FLOAT, int32 → INT32, uint8 → INT32 (UINT_8), LeRobot's int64 indices → INT64, next.done →
 * BOOLEAN. A feature of shape [1] is a scalar column (LeRobot's `Value`); shape [n] a list of n (`Sequence`);
 * shape [H, W] a list of H lists of W (`Array2D`).
 *
 * Depth images: LeRobot's camera features are `dtype: "image"` (PNG per frame) or `"video"` (mp4, AV1), uint8
 * [H, W, C] with names [height, width, channels], and it has no depth type. Stride's `observation.depth` (float32
 * metres along each ray) is exported as a fixed-shape float32 [H, W] array feature (an `Array2D` column, names
 * [height, width]), so the metric values survive; LeRobot loads it as a non-visual observation (no image
 * transforms, no video decoding). `video_path` is null.
 *
 * Tasks: Stride datasets carry no language instruction; every episode gets one task, `opts.task` (default: the
 * scene id). `next.reward` is exported only when the source dataset has transitions (formatVersion 2); `next.done`
 * is the source's when present, else true on each episode's last frame.
 *
 * Written into `<out>.tmp-<pid>-<hex>` and renamed into place when complete; an existing `out` is replaced only with
 * `force` and only when it is a LeRobot dataset or empty.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ByteWriter, parquetWrite } from 'hyparquet-writer';
import { featureSize, type FeatureArray, type FeatureSpec } from '../core/features.ts';
import { percentile } from '../math/stats.ts';
import { writeDurable } from './atomic.ts';
import { computeStats, NEXT_DONE, NEXT_REWARD, type Dataset } from './dataset.ts';

export const LEROBOT_CODEBASE_VERSION = 'v3.0';
export const LEROBOT_CHUNKS_SIZE = 1000;
export const LEROBOT_DATA_FILE_SIZE_MB = 100;
export const LEROBOT_VIDEO_FILE_SIZE_MB = 500;
export const LEROBOT_DATA_PATH = 'data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet';
const EPISODES_FILE = 'meta/episodes/chunk-000/file-000.parquet';
const QUANTILES = [0.01, 0.1, 0.5, 0.9, 0.99] as const;

export interface LeRobotExportOptions {
  /** Output folder (created; must not exist unless `force`). */
  out: string;
  /** Replace an existing LeRobot dataset (or empty folder) at `out`, once the new one is complete. */
  force?: boolean;
  /** The task string of every episode (default: the scene id). */
  task?: string;
  /** info.json robot_type (default: the scene id). */
  robotType?: string;
  /** Target size of one data file, MB (default 100, LeRobot's). */
  dataFileSizeMb?: number;
}

export interface LeRobotFeature { dtype: string; shape: number[]; names: string[] | null }

export interface LeRobotExportResult {
  out: string;
  totalEpisodes: number;
  totalFrames: number;
  /** Data files written, relative to `out`. */
  dataFiles: string[];
  features: Record<string, LeRobotFeature>;
}

type Leaf = { type: 'FLOAT' | 'INT32' | 'INT64' | 'BOOLEAN' | 'BYTE_ARRAY'; converted_type?: 'UINT_8' | 'UTF8' };
type SchemaElement = Record<string, unknown>;

const pad3 = (n: number) => String(n).padStart(3, '0');
const dataPath = (chunk: number, file: number) => `data/chunk-${pad3(chunk)}/file-${pad3(file)}.parquet`;

function leafOf(spec: FeatureSpec): Leaf {
  return spec.dtype === 'float32' ? { type: 'FLOAT' } : spec.dtype === 'int32' ? { type: 'INT32' } : { type: 'INT32', converted_type: 'UINT_8' };
}

/** LeRobot shape of a Stride feature: [1] for scalars (shape [] or [1]), else the shape. */
const lrShape = (spec: FeatureSpec): number[] => (spec.shape.length === 0 ? [1] : [...spec.shape]);

/** Parquet schema elements of one column: a required leaf, or nested 3-level LISTs (one per dimension). */
function columnSchema(name: string, shape: readonly number[], leaf: Leaf): SchemaElement[] {
  if ((shape.length === 1 && shape[0] === 1) || shape.length === 0) return [{ name, repetition_type: 'REQUIRED', ...leaf }];
  return listSchema(name, shape.length, leaf);
}

/** `depth` nested 3-level parquet LISTs of `leaf`. */
function listSchema(name: string, depth: number, leaf: Leaf): SchemaElement[] {
  const out: SchemaElement[] = [];
  let n = name;
  for (let d = 0; d < depth; d++) {
    out.push({ name: n, repetition_type: 'REQUIRED', num_children: 1, converted_type: 'LIST' }, { name: 'list', repetition_type: 'REPEATED', num_children: 1 });
    n = 'element';
  }
  out.push({ name: 'element', repetition_type: 'REQUIRED', ...leaf });
  return out;
}

/** One frame of a flat column as nested arrays of `shape`. */
function nest(a: FeatureArray, off: number, shape: readonly number[]): unknown {
  if (shape.length === 1) return Array.from(a.subarray(off, off + shape[0]!));
  const inner = shape.slice(1), step = inner.reduce((x, y) => x * y, 1);
  return Array.from({ length: shape[0]! }, (_, i) => nest(a, off + i * step, inner));
}

/** Reshape a flat per-element stat to the feature's shape (a [1] feature keeps a 1-element list). */
function shaped(v: readonly number[], shape: readonly number[]): unknown {
  if (shape.length <= 1) return [...v];
  const inner = shape.slice(1), step = inner.reduce((x, y) => x * y, 1);
  return Array.from({ length: shape[0]! }, (_, i) => shaped(v.slice(i * step, (i + 1) * step), inner));
}

/** min/max/mean/std/count and quantiles per element of a time-major column (size elements per frame). */
function featureStats(col: ArrayLike<number>, size: number, frames: number, shape: readonly number[]) {
  const typed = col instanceof Float32Array || col instanceof Int32Array || col instanceof Uint8Array ? col : Float64Array.from(col);
  const s = computeStats(typed as FeatureArray, size);
  const q: number[][] = QUANTILES.map(() => new Array<number>(size));
  const buf = new Float64Array(frames);
  for (let j = 0; j < size; j++) {
    for (let t = 0; t < frames; t++) buf[t] = typed[t * size + j]!;
    buf.sort();
    QUANTILES.forEach((p, k) => { q[k]![j] = percentile(buf, p); });
  }
  const out: Record<string, unknown> = {
    min: shaped(s.min, shape), max: shaped(s.max, shape), mean: shaped(s.mean, shape), std: shaped(s.std, shape), count: [frames],
  };
  QUANTILES.forEach((p, k) => { out[`q${String(Math.round(p * 100)).padStart(2, '0')}`] = shaped(q[k]!, shape); });
  return out;
}

function writeParquet(file: string, columns: { name: string; data: unknown[] }[], schema: SchemaElement[], kvMetadata?: { key: string; value: string }[]): void {
  const writer = new ByteWriter();
  parquetWrite({
    writer, columnData: columns as never, schema: [{ name: 'schema', num_children: columns.length }, ...schema] as never,
    kvMetadata, createdBy: 'stride export-dataset (hyparquet-writer)',
  });
  mkdirSync(dirname(file), { recursive: true });
  writeDurable(file, new Uint8Array(writer.getBuffer()));
}

function isLeRobotDir(dir: string): boolean {
  try {
    if (readdirSync(dir).length === 0) return true;
    const info = JSON.parse(readFileSync(join(dir, 'meta', 'info.json'), 'utf8')) as { codebase_version?: unknown };
    return typeof info.codebase_version === 'string';
  } catch { return false; }
}

/** Write `ds` as a LeRobot v3.0 dataset at `opts.out` (see the module comment). */
export function exportLeRobot(ds: Dataset, opts: LeRobotExportOptions): LeRobotExportResult {
  const out = resolve(opts.out);
  if (existsSync(out)) {
    if (!opts.force) throw new Error(`${opts.out} already exists (use --force to replace it)`);
    if (!isLeRobotDir(out)) throw new Error(`${opts.out} exists and is not a LeRobot dataset; refusing to replace it`);
  }
  const { info } = ds;
  const N = info.numFrames, E = info.numEpisodes;
  const task = opts.task ?? info.sceneId;
  const keys = Object.keys(info.features);
  for (const k of keys) if (k.includes('/')) throw new Error(`feature '${k}': LeRobot feature names cannot contain '/'`);

  // --- features ---
  const features: Record<string, LeRobotFeature> = {};
  for (const k of keys) {
    const spec = info.features[k]!, shape = lrShape(spec);
    const names = spec.shape.length === 2 ? ['height', 'width'] : spec.names && spec.names.length === featureSize(spec) ? [...spec.names] : null;
    features[k] = { dtype: spec.dtype, shape, names };
  }
  const hasReward = !!ds.transitions;
  Object.assign(features, {
    timestamp: { dtype: 'float32', shape: [1], names: null },
    frame_index: { dtype: 'int64', shape: [1], names: null },
    episode_index: { dtype: 'int64', shape: [1], names: null },
    index: { dtype: 'int64', shape: [1], names: null },
    task_index: { dtype: 'int64', shape: [1], names: null },
    ...(hasReward ? { [NEXT_REWARD]: { dtype: 'float32', shape: [1], names: null } } : {}),
    [NEXT_DONE]: { dtype: 'bool', shape: [1], names: null },
  });

  // --- per-frame index columns ---
  const frameIndex = new Int32Array(N), episodeIndex = new Int32Array(N), done = new Uint8Array(N);
  let s = 0;
  for (let e = 0; e < E; e++) {
    const end = ds.episodeEnds[e]!;
    for (let t = s; t < end; t++) { frameIndex[t] = t - s; episodeIndex[t] = e; }
    done[end - 1] = 1;
    s = end;
  }
  const doneCol = ds.transitions ? ds.transitions.done : done;
  const timestamp = Float32Array.from(frameIndex, (f) => f / info.fps);

  const tmp = `${out}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  mkdirSync(dirname(out), { recursive: true });
  mkdirSync(tmp);
  try {
    // --- data files: whole episodes, ≤ dataFileSizeMb each ---
    const bytesPerFrame = keys.reduce((n, k) => n + 4 * featureSize(info.features[k]!), 0) + 4 * 8 + 4 + 1;
    const limit = (opts.dataFileSizeMb ?? LEROBOT_DATA_FILE_SIZE_MB) * 1024 * 1024;
    const files: { chunk: number; file: number; from: number; to: number; episodes: number[] }[] = [];
    let cur: (typeof files)[number] | null = null;
    for (let e = 0; e < E; e++) {
      const from = e === 0 ? 0 : ds.episodeEnds[e - 1]!, to = ds.episodeEnds[e]!;
      if (!cur || ((to - cur.from) * bytesPerFrame > limit && cur.episodes.length > 0)) {
        const n = files.length;
        cur = { chunk: Math.floor(n / LEROBOT_CHUNKS_SIZE), file: n % LEROBOT_CHUNKS_SIZE, from, to, episodes: [] };
        files.push(cur);
      }
      cur.to = to;
      cur.episodes.push(e);
    }
    const big = (a: ArrayLike<number>, from: number, to: number) => Array.from({ length: to - from }, (_, i) => BigInt(a[from + i]!));
    for (const f of files) {
      const cols: { name: string; data: unknown[] }[] = [];
      const schema: SchemaElement[] = [];
      for (const k of keys) {
        const spec = info.features[k]!, size = featureSize(spec), col = ds.columns[k]!, shape = lrShape(spec);
        const scalar = shape.length === 1 && shape[0] === 1;
        cols.push({ name: k, data: Array.from({ length: f.to - f.from }, (_, i) => (scalar ? col[f.from + i]! : nest(col, (f.from + i) * size, shape))) });
        schema.push(...columnSchema(k, shape, leafOf(spec)));
      }
      const push = (name: string, data: unknown[], leaf: Leaf) => { cols.push({ name, data }); schema.push({ name, repetition_type: 'REQUIRED', ...leaf }); };
      push('timestamp', Array.from(timestamp.subarray(f.from, f.to)), { type: 'FLOAT' });
      push('frame_index', big(frameIndex, f.from, f.to), { type: 'INT64' });
      push('episode_index', big(episodeIndex, f.from, f.to), { type: 'INT64' });
      push('index', Array.from({ length: f.to - f.from }, (_, i) => BigInt(f.from + i)), { type: 'INT64' });
      push('task_index', Array.from({ length: f.to - f.from }, () => 0n), { type: 'INT64' });
      if (ds.transitions) push(NEXT_REWARD, Array.from(ds.transitions.reward.subarray(f.from, f.to)), { type: 'FLOAT' });
      push(NEXT_DONE, Array.from(doneCol.subarray(f.from, f.to), (d) => d !== 0), { type: 'BOOLEAN' });
      writeParquet(join(tmp, dataPath(f.chunk, f.file)), cols, schema);
    }

    // --- meta/episodes ---
    const fileOf = (e: number) => files.find((f) => f.episodes.includes(e))!;
    const epCols = (name: string, data: unknown[], leaf: Leaf) => ({ name, data, leaf });
    const eps = ds.episodes;
    const epColumns = [
      epCols('episode_index', eps.map((_, e) => BigInt(e)), { type: 'INT64' }),
      epCols('length', eps.map((ep) => BigInt(ep.length)), { type: 'INT64' }),
      epCols('data/chunk_index', eps.map((_, e) => BigInt(fileOf(e).chunk)), { type: 'INT64' }),
      epCols('data/file_index', eps.map((_, e) => BigInt(fileOf(e).file)), { type: 'INT64' }),
      epCols('dataset_from_index', eps.map((_, e) => BigInt(e === 0 ? 0 : ds.episodeEnds[e - 1]!)), { type: 'INT64' }),
      epCols('dataset_to_index', eps.map((_, e) => BigInt(ds.episodeEnds[e]!)), { type: 'INT64' }),
      epCols('meta/episodes/chunk_index', eps.map(() => 0n), { type: 'INT64' }),
      epCols('meta/episodes/file_index', eps.map(() => 0n), { type: 'INT64' }),
      epCols('seed', eps.map((ep) => BigInt(Math.trunc(ep.seed))), { type: 'INT64' }),
      epCols('success', eps.map((ep) => ep.success), { type: 'BOOLEAN' }),
      epCols('labels', eps.map((ep) => JSON.stringify(ep.labels)), { type: 'BYTE_ARRAY', converted_type: 'UTF8' }),
    ];
    writeParquet(join(tmp, EPISODES_FILE),
      [{ name: 'tasks', data: eps.map(() => [task]) }, ...epColumns.map((c) => ({ name: c.name, data: c.data }))],
      [...listSchema('tasks', 1, { type: 'BYTE_ARRAY', converted_type: 'UTF8' }), ...epColumns.map((c) => ({ name: c.name, repetition_type: 'REQUIRED', ...c.leaf }))]);

    // --- meta/tasks.parquet: task_index with the task string as the (pandas) index ---
    const pandas = {
      index_columns: ['task'], column_indexes: [], partition_columns: [],
      columns: [
        { name: 'task_index', field_name: 'task_index', pandas_type: 'int64', numpy_type: 'int64', metadata: null },
        { name: 'task', field_name: 'task', pandas_type: 'unicode', numpy_type: 'object', metadata: null },
      ],
      creator: { library: 'stride', version: '1' }, pandas_version: '2.2.0',
    };
    writeParquet(join(tmp, 'meta', 'tasks.parquet'), [{ name: 'task_index', data: [0n] }, { name: 'task', data: [task] }],
      [{ name: 'task_index', repetition_type: 'REQUIRED', type: 'INT64' }, { name: 'task', repetition_type: 'REQUIRED', type: 'BYTE_ARRAY', converted_type: 'UTF8' }],
      [{ key: 'pandas', value: JSON.stringify(pandas) }]);

    // --- meta/stats.json ---
    const stats: Record<string, unknown> = {};
    for (const k of keys) stats[k] = featureStats(ds.columns[k]!, featureSize(info.features[k]!), N, lrShape(info.features[k]!));
    stats.timestamp = featureStats(timestamp, 1, N, [1]);
    stats.frame_index = featureStats(frameIndex, 1, N, [1]);
    stats.episode_index = featureStats(episodeIndex, 1, N, [1]);
    stats.index = featureStats(Float64Array.from({ length: N }, (_, i) => i), 1, N, [1]);
    stats.task_index = featureStats(new Float64Array(N), 1, N, [1]);
    if (ds.transitions) stats[NEXT_REWARD] = featureStats(ds.transitions.reward, 1, N, [1]);
    stats[NEXT_DONE] = featureStats(doneCol, 1, N, [1]);
    writeDurable(join(tmp, 'meta', 'stats.json'), `${JSON.stringify(stats, null, 2)}\n`);

    // --- meta/info.json ---
    const lrInfo = {
      codebase_version: LEROBOT_CODEBASE_VERSION, robot_type: opts.robotType ?? info.sceneId,
      total_episodes: E, total_frames: N, total_tasks: 1,
      chunks_size: LEROBOT_CHUNKS_SIZE, data_files_size_in_mb: opts.dataFileSizeMb ?? LEROBOT_DATA_FILE_SIZE_MB, video_files_size_in_mb: LEROBOT_VIDEO_FILE_SIZE_MB,
      fps: info.fps, splits: { train: `0:${E}` }, data_path: LEROBOT_DATA_PATH, video_path: null, features,
    };
    writeDurable(join(tmp, 'meta', 'info.json'), `${JSON.stringify(lrInfo, null, 4)}\n`);

    // --- move into place ---
    if (existsSync(out)) {
      const old = `${out}.old-${process.pid}-${randomBytes(4).toString('hex')}`;
      renameSync(out, old);
      renameSync(tmp, out);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, out);
    }
    return { out, totalEpisodes: E, totalFrames: N, dataFiles: files.map((f) => dataPath(f.chunk, f.file)), features };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
