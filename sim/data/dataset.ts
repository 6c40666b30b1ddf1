/**
 * Datasets (demonstrations, play data): a folder readable with numpy alone (DESIGN.md §3).
 *
 * ```
 * <dir>/meta/info.json        { formatVersion, sceneId, fps, features, numEpisodes, numFrames, files }
 * <dir>/meta/stats.json       { <feature key>: { min, max, mean, std } }  — one number per element of a sample
 * <dir>/meta/episodes.jsonl   one line per episode: { index, length, seed, success, labels }
 * <dir>/data/<key>.npy        time-major (numFrames × ...shape), all episodes concatenated, dtype of the feature
 * <dir>/data/episode_ends.npy int32 (numEpisodes,), exclusive end frame of each episode (Diffusion Policy convention)
 * <dir>/data/next.reward.npy  float32 (numFrames,): the reward of the step that frame t's action took   } datasets that
 * <dir>/data/next.done.npy    uint8 (numFrames,): 1 when that step ended the episode (terminated/truncated) } carry them
 * ```
 *
 * `next.reward` / `next.done` (LeRobot's names) are per-frame transition columns, not features (no policy reads
 * them as an observation); `info.transitions` names their files. formatVersion 2 added them; formatVersion-1
 * datasets (none) still read, with `transitions: null`.
 *
 * Writing is crash-safe: `DatasetWriter` streams episodes into a sibling temp folder `<dir>.tmp-<pid>-<rand>` and
 * renames it to `<dir>` in `finish()`. An existing dataset is never overwritten unless `force`, and then it is only
 * replaced once the new one is complete. A crash leaves `<dir>` untouched (temp folders of dead processes are removed
 * by the next writer of the same target).
 *
 * Reading validates everything (format version, npy dtypes and shapes against the features, episode ends, episode
 * lines) and reports problems as one-line errors naming the file.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { featureSize, type FeatureArray, type Features, type FeatureSpec } from '../core/features.ts';
import { Rng } from '../math/rng.ts';
import { dtypeOf, NpyStreamWriter, readNpy, writeNpy } from './npy.ts';

export const DATASET_FORMAT_VERSION = 2;
export const DATASET_FORMAT_VERSIONS_READ: readonly number[] = [1, 2];
/** Transition column keys (LeRobot's names). */
export const NEXT_REWARD = 'next.reward';
export const NEXT_DONE = 'next.done';

export interface DatasetInfo {
  formatVersion: number;
  sceneId: string;
  /** Frames per second (1 / ctrlDtSec of the scene that produced it). */
  fps: number;
  features: Features;
  numEpisodes: number;
  numFrames: number;
  /** Feature key → file under the dataset folder. */
  files: Record<string, string>;
  /** Files of the per-frame transition columns, when the dataset has them. */
  transitions?: { [NEXT_REWARD]: string; [NEXT_DONE]: string };
}

/** Per-frame transitions: reward of the step frame t's action took, and whether that step ended the episode. */
export interface Transitions {
  reward: Float32Array;
  done: Uint8Array;
}

export interface FeatureStats { min: number[]; max: number[]; mean: number[]; std: number[] }

export interface EpisodeInfo {
  index: number;
  length: number;
  seed: number;
  success: boolean;
  /** Per-episode labels (e.g. the expert's choices: which block, which zone, intent id). */
  labels: Record<string, number | string>;
}

export interface Dataset {
  info: DatasetInfo;
  stats: Record<string, FeatureStats>;
  episodes: EpisodeInfo[];
  /** Time-major columns, all episodes concatenated (numFrames × featureSize). */
  columns: Record<string, FeatureArray>;
  /** Exclusive end frame of each episode. */
  episodeEnds: Int32Array;
  /** Per-frame reward/done (null for datasets written without them, e.g. motion libraries). */
  transitions: Transitions | null;
}

export interface DatasetWriterOptions {
  sceneId: string;
  fps: number;
  /** Every feature the dataset holds (observations and the action); each episode supplies one column per key. */
  features: Features;
  /** Replace an existing dataset at the target (only after the new one is complete). */
  force?: boolean;
  /** Every episode carries `reward` and `done` per frame (written as next.reward / next.done). */
  transitions?: boolean;
}

export interface EpisodeMeta {
  seed: number;
  success: boolean;
  labels?: Record<string, number | string>;
  /** Per frame (writers opened with `transitions`): the reward of the step that frame's action took. */
  reward?: ArrayLike<number>;
  /** Per frame: 1 (or true) when that step ended the episode. */
  done?: ArrayLike<number | boolean>;
}

/** A column for one episode: a flat typed array (T × size) or one array per frame. */
export type EpisodeColumn = FeatureArray | readonly FeatureArray[] | readonly number[];

const KEY_RE = /^[A-Za-z0-9._-]+$/;
const EPISODE_ENDS = 'episode_ends';

// --- running statistics (per element; shifted sums for numerical stability) ---

class RunningStats {
  readonly min: Float64Array;
  readonly max: Float64Array;
  private readonly shift: Float64Array;
  private readonly sum: Float64Array;
  private readonly sumSq: Float64Array;
  private n = 0;

  constructor(readonly size: number) {
    this.min = new Float64Array(size).fill(Infinity);
    this.max = new Float64Array(size).fill(-Infinity);
    this.shift = new Float64Array(size);
    this.sum = new Float64Array(size);
    this.sumSq = new Float64Array(size);
  }

  add(col: FeatureArray): void {
    const s = this.size;
    const rows = s === 0 ? 0 : col.length / s;
    if (rows === 0) return;
    if (this.n === 0) for (let j = 0; j < s; j++) this.shift[j] = col[j]!;
    for (let r = 0; r < rows; r++) {
      const o = r * s;
      for (let j = 0; j < s; j++) {
        const v = col[o + j]!;
        if (v < this.min[j]!) this.min[j] = v;
        if (v > this.max[j]!) this.max[j] = v;
        const d = v - this.shift[j]!;
        this.sum[j]! += d;
        this.sumSq[j]! += d * d;
      }
    }
    this.n += rows;
  }

  result(): FeatureStats {
    const mean: number[] = [], std: number[] = [];
    for (let j = 0; j < this.size; j++) {
      const m = this.sum[j]! / this.n;
      mean.push(this.shift[j]! + m);
      std.push(Math.sqrt(Math.max(0, this.sumSq[j]! / this.n - m * m)));
    }
    return { min: Array.from(this.min), max: Array.from(this.max), mean, std };
  }
}

/** Per-element min/max/mean/std (population std) of a time-major column. */
export function computeStats(col: FeatureArray, size: number): FeatureStats {
  const s = new RunningStats(size);
  s.add(col);
  return s.result();
}

// --- temp folders: cleanup on exit and of dead writers ---

const liveTemps = new Set<string>();
let exitHookInstalled = false;
function trackTemp(dir: string): void {
  liveTemps.add(dir);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => { for (const d of liveTemps) rmSync(d, { recursive: true, force: true }); });
  }
}

function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Remove `<base>.tmp-<pid>-*` / `<base>.old-<pid>-*` siblings left by processes that no longer exist. */
function removeStaleTemps(target: string): void {
  const parent = dirname(target), base = basename(target);
  let names: string[];
  try { names = readdirSync(parent); } catch { return; }
  const re = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(tmp|old)-(\\d+)-[0-9a-f]+$`);
  for (const n of names) {
    const m = re.exec(n);
    if (m && Number(m[2]) !== process.pid && !pidAlive(Number(m[2]))) rmSync(join(parent, n), { recursive: true, force: true });
  }
}

function isDatasetDir(dir: string): boolean {
  if (existsSync(join(dir, 'meta', 'info.json'))) return true;
  try { return statSync(dir).isDirectory() && readdirSync(dir).length === 0; } catch { return false; }
}

function checkTarget(dir: string, force: boolean): void {
  if (!existsSync(dir)) return;
  if (!force) throw new Error(`dataset ${dir} already exists (use --force / { force: true } to replace it)`);
  if (!isDatasetDir(dir)) throw new Error(`${dir} exists and is not a Stride dataset; refusing to replace it`);
}

function typedCtor(spec: FeatureSpec) {
  return spec.dtype === 'float32' ? Float32Array : spec.dtype === 'int32' ? Int32Array : Uint8Array;
}

/** Normalise one episode column to a flat typed array of the feature's dtype; returns it and its frame count. */
function toColumn(key: string, spec: FeatureSpec, col: EpisodeColumn): { data: FeatureArray; frames: number } {
  const size = featureSize(spec);
  const Ctor = typedCtor(spec);
  let data: FeatureArray;
  if (ArrayBuffer.isView(col)) {
    if (!(col instanceof Ctor)) throw new Error(`dataset: feature '${key}' is ${spec.dtype} but the column is a ${(col as object).constructor.name}`);
    data = col;
  } else if (col.length > 0 && ArrayBuffer.isView(col[0])) {
    const frames = col as readonly FeatureArray[];
    data = new Ctor(frames.length * size);
    frames.forEach((f, t) => {
      if (f.length !== size) throw new Error(`dataset: feature '${key}' frame ${t} has ${f.length} elements, expected ${size}`);
      data.set(f, t * size);
    });
  } else {
    data = Ctor.from(col as readonly number[]);
  }
  if (size === 0 || data.length % size !== 0) throw new Error(`dataset: feature '${key}' column of ${data.length} elements is not a whole number of frames of ${size}`);
  if (data instanceof Float32Array) {
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) throw new Error(`dataset: feature '${key}' element ${i} is not finite`);
  }
  return { data, frames: data.length / size };
}

/** Streams episodes to a temp folder; `finish()` renames it into place. Call `abort()` on failure. */
export class DatasetWriter {
  readonly dir: string;
  readonly tmpDir: string;
  private readonly opts: DatasetWriterOptions;
  private readonly keys: string[];
  private readonly writers = new Map<string, NpyStreamWriter>();
  private readonly stats = new Map<string, RunningStats>();
  private readonly episodes: EpisodeInfo[] = [];
  private readonly ends: number[] = [];
  private readonly trans: { reward: NpyStreamWriter; done: NpyStreamWriter } | null = null;
  private numFrames = 0;
  private state: 'open' | 'finished' | 'aborted' = 'open';

  constructor(dir: string, opts: DatasetWriterOptions) {
    this.dir = resolve(dir);
    this.opts = opts;
    if (!opts.sceneId) throw new Error('dataset: sceneId is required');
    if (!(opts.fps > 0)) throw new Error(`dataset: fps must be > 0, got ${opts.fps}`);
    this.keys = Object.keys(opts.features);
    if (this.keys.length === 0) throw new Error('dataset: no features');
    for (const k of this.keys) {
      if (!KEY_RE.test(k) || k === EPISODE_ENDS) throw new Error(`dataset: feature key '${k}' cannot be a file name`);
    }
    checkTarget(this.dir, !!opts.force);
    try {
      mkdirSync(dirname(this.dir), { recursive: true });
    } catch (e) {
      throw new Error(`cannot create the parent folder of dataset ${this.dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    removeStaleTemps(this.dir);
    this.tmpDir = `${this.dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    mkdirSync(join(this.tmpDir, 'meta'), { recursive: true });
    mkdirSync(join(this.tmpDir, 'data'));
    trackTemp(this.tmpDir);
    try {
      for (const k of this.keys) {
        const spec = opts.features[k]!;
        this.writers.set(k, new NpyStreamWriter(join(this.tmpDir, 'data', `${k}.npy`), spec.dtype, spec.shape));
        this.stats.set(k, new RunningStats(featureSize(spec)));
      }
      if (opts.transitions) {
        this.trans = {
          reward: new NpyStreamWriter(join(this.tmpDir, 'data', `${NEXT_REWARD}.npy`), 'float32', []),
          done: new NpyStreamWriter(join(this.tmpDir, 'data', `${NEXT_DONE}.npy`), 'uint8', []),
        };
      }
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  get episodeCount(): number { return this.episodes.length; }
  get frameCount(): number { return this.numFrames; }

  /** Append one episode: one column per feature key (T × size each, all with the same T ≥ 1). */
  addEpisode(meta: EpisodeMeta, columns: Readonly<Record<string, EpisodeColumn>>): EpisodeInfo {
    if (this.state !== 'open') throw new Error(`dataset ${this.dir}: writer is ${this.state}`);
    for (const k of Object.keys(columns)) if (!(k in this.opts.features)) throw new Error(`dataset: episode has column '${k}' that is not a declared feature`);
    const cols = new Map<string, FeatureArray>();
    let T = -1;
    for (const k of this.keys) {
      const c = columns[k];
      if (c === undefined) throw new Error(`dataset: episode is missing feature '${k}'`);
      const { data, frames } = toColumn(k, this.opts.features[k]!, c);
      if (T >= 0 && frames !== T) throw new Error(`dataset: feature '${k}' has ${frames} frames, other features have ${T}`);
      T = frames;
      cols.set(k, data);
    }
    if (T < 1) throw new Error('dataset: an episode needs at least one frame');
    if (!Number.isFinite(meta.seed)) throw new Error(`dataset: episode seed must be a number, got ${meta.seed}`);
    let reward: Float32Array | null = null, done: Uint8Array | null = null;
    if (this.trans) {
      if (!meta.reward || !meta.done) throw new Error('dataset: this dataset has transitions; the episode needs reward and done per frame');
      if (meta.reward.length !== T || meta.done.length !== T) throw new Error(`dataset: reward/done have ${meta.reward.length}/${meta.done.length} frames, the episode has ${T}`);
      reward = Float32Array.from(meta.reward);
      for (let i = 0; i < T; i++) if (!Number.isFinite(reward[i]!)) throw new Error(`dataset: reward of frame ${i} is not finite`);
      done = Uint8Array.from(meta.done, (d) => (d ? 1 : 0));
    }
    for (const k of this.keys) {
      const data = cols.get(k)!;
      this.writers.get(k)!.append(data);
      this.stats.get(k)!.add(data);
    }
    if (this.trans) { this.trans.reward.append(reward!); this.trans.done.append(done!); }
    this.numFrames += T;
    this.ends.push(this.numFrames);
    const ep: EpisodeInfo = { index: this.episodes.length, length: T, seed: meta.seed, success: !!meta.success, labels: { ...(meta.labels ?? {}) } };
    this.episodes.push(ep);
    return ep;
  }

  /** Write meta files and move the dataset into place (replacing an existing one only with `force`). */
  finish(): DatasetInfo {
    if (this.state !== 'open') throw new Error(`dataset ${this.dir}: writer is ${this.state}`);
    try {
      if (this.episodes.length === 0) throw new Error(`dataset ${this.dir}: no episodes were added`);
      for (const w of this.writers.values()) w.close();
      if (this.trans) { this.trans.reward.close(); this.trans.done.close(); }
      writeNpy(join(this.tmpDir, 'data', `${EPISODE_ENDS}.npy`), Int32Array.from(this.ends), [this.ends.length]);
      const files: Record<string, string> = {};
      for (const k of this.keys) files[k] = `data/${k}.npy`;
      const info: DatasetInfo = {
        formatVersion: DATASET_FORMAT_VERSION, sceneId: this.opts.sceneId, fps: this.opts.fps, features: this.opts.features,
        numEpisodes: this.episodes.length, numFrames: this.numFrames, files,
        ...(this.trans ? { transitions: { [NEXT_REWARD]: `data/${NEXT_REWARD}.npy`, [NEXT_DONE]: `data/${NEXT_DONE}.npy` } } : {}),
      };
      const stats: Record<string, FeatureStats> = {};
      for (const k of this.keys) stats[k] = this.stats.get(k)!.result();
      writeFileSync(join(this.tmpDir, 'meta', 'stats.json'), `${JSON.stringify(stats)}\n`);
      writeFileSync(join(this.tmpDir, 'meta', 'episodes.jsonl'), this.episodes.map((e) => JSON.stringify(e)).join('\n') + '\n');
      writeFileSync(join(this.tmpDir, 'meta', 'info.json'), `${JSON.stringify(info, null, 2)}\n`);
      // --- move into place ---
      if (existsSync(this.dir)) {
        checkTarget(this.dir, !!this.opts.force);
        const old = `${this.dir}.old-${process.pid}-${randomBytes(4).toString('hex')}`;
        renameSync(this.dir, old);
        trackTemp(old);
        renameSync(this.tmpDir, this.dir);
        rmSync(old, { recursive: true, force: true });
        liveTemps.delete(old);
      } else {
        renameSync(this.tmpDir, this.dir);
      }
      liveTemps.delete(this.tmpDir);
      this.state = 'finished';
      return info;
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  /** Drop everything written so far; the target is untouched. */
  abort(): void {
    if (this.state === 'finished') return;
    this.state = 'aborted';
    for (const w of this.writers.values()) w.abort();
    if (this.trans) { this.trans.reward.abort(); this.trans.done.abort(); }
    rmSync(this.tmpDir, { recursive: true, force: true });
    liveTemps.delete(this.tmpDir);
  }
}

export interface DatasetInput {
  sceneId: string;
  fps: number;
  features: Features;
  /** Every episode carries reward and done (see DatasetWriterOptions.transitions). */
  transitions?: boolean;
  episodes: Iterable<EpisodeMeta & { frames?: Readonly<Record<string, EpisodeColumn>>; columns?: Readonly<Record<string, EpisodeColumn>> }>;
}

/** Write a whole dataset in one call (episodes may be a generator); on any error nothing is left at `dir`. */
export function writeDataset(dir: string, input: DatasetInput, opts: { force?: boolean } = {}): DatasetInfo {
  const w = new DatasetWriter(dir, { sceneId: input.sceneId, fps: input.fps, features: input.features, force: opts.force, transitions: input.transitions });
  try {
    for (const ep of input.episodes) {
      const cols = ep.columns ?? ep.frames;
      if (!cols) throw new Error('dataset: episode has neither frames nor columns');
      w.addEpisode(ep, cols);
    }
    return w.finish();
  } catch (e) {
    w.abort();
    throw e;
  }
}

// --- reading ---

function readJson(file: string): unknown {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try { return JSON.parse(text); } catch (e) {
    throw new Error(`corrupt dataset file ${file}: invalid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Read and validate a dataset folder. */
export async function readDataset(dir: string): Promise<Dataset> {
  const root = resolve(dir);
  if (!existsSync(root)) throw new Error(`dataset not found: ${dir}`);
  const infoFile = join(root, 'meta', 'info.json');
  if (!existsSync(infoFile)) throw new Error(`not a Stride dataset: ${dir} (missing meta/info.json)`);
  const raw = readJson(infoFile);
  const bad = (file: string, what: string): never => { throw new Error(`corrupt dataset file ${file}: ${what}`); };
  if (!isObj(raw)) return bad(infoFile, 'expected an object');
  if (!DATASET_FORMAT_VERSIONS_READ.includes(raw.formatVersion as number)) bad(infoFile, `unsupported formatVersion ${JSON.stringify(raw.formatVersion)} (this build reads ${DATASET_FORMAT_VERSIONS_READ.join(', ')})`);
  if (typeof raw.sceneId !== 'string') bad(infoFile, 'sceneId missing');
  if (typeof raw.fps !== 'number' || !(raw.fps > 0)) bad(infoFile, 'fps missing or not positive');
  if (!isObj(raw.features) || Object.keys(raw.features).length === 0) bad(infoFile, 'features missing');
  const nEp = raw.numEpisodes, nFr = raw.numFrames;
  if (!Number.isInteger(nEp) || (nEp as number) < 1) bad(infoFile, 'numEpisodes missing or < 1');
  if (!Number.isInteger(nFr) || (nFr as number) < 1) bad(infoFile, 'numFrames missing or < 1');
  const features = raw.features as Record<string, FeatureSpec>;
  for (const [k, s] of Object.entries(features)) {
    if (!KEY_RE.test(k) || !isObj(s) || !Array.isArray(s.shape) || !['float32', 'int32', 'uint8'].includes(s.dtype as string)) {
      bad(infoFile, `feature '${k}' has a malformed spec`);
    }
  }
  const info: DatasetInfo = {
    formatVersion: raw.formatVersion as number, sceneId: raw.sceneId as string, fps: raw.fps as number, features,
    numEpisodes: nEp as number, numFrames: nFr as number,
    files: isObj(raw.files) ? (raw.files as Record<string, string>) : Object.fromEntries(Object.keys(features).map((k) => [k, `data/${k}.npy`])),
    ...(isObj(raw.transitions) ? { transitions: { [NEXT_REWARD]: `data/${NEXT_REWARD}.npy`, [NEXT_DONE]: `data/${NEXT_DONE}.npy` } } : {}),
  };

  // --- columns ---
  const columns: Record<string, FeatureArray> = {};
  for (const [k, spec] of Object.entries(features)) {
    const file = join(root, 'data', `${k}.npy`);
    if (!existsSync(file)) bad(file, `missing (feature '${k}')`);
    const a = readNpy(file);
    if (a.dtype !== spec.dtype) bad(file, `dtype ${a.dtype}, feature '${k}' declares ${spec.dtype}`);
    const want = [info.numFrames, ...spec.shape];
    if (a.shape.join(',') !== want.join(',')) bad(file, `shape [${a.shape.join(', ')}], expected [${want.join(', ')}]`);
    if (a.data instanceof Float32Array || a.data instanceof Float64Array) {
      // NaN/Inf in a column would only show up as "training diverged at step 1": name it here, before training.
      const per = a.data.length / info.numFrames;
      let count = 0;
      const frames: number[] = [];
      for (let i = 0; i < a.data.length; i++) {
        if (Number.isFinite(a.data[i]!)) continue;
        count++;
        const f = Math.floor(i / per);
        if (frames.length < 5 && frames[frames.length - 1] !== f) frames.push(f);
      }
      if (count) bad(file, `column '${k}' has ${count} non-finite value${count > 1 ? 's' : ''} (NaN/Inf), first at frame${frames.length > 1 ? 's' : ''} ${frames.join(', ')}`);
    }
    columns[k] = a.data;
  }

  // --- episode ends ---
  const endsFile = join(root, 'data', `${EPISODE_ENDS}.npy`);
  if (!existsSync(endsFile)) bad(endsFile, 'missing');
  const endsArr = readNpy(endsFile);
  if (endsArr.dtype !== 'int32' || endsArr.shape.length !== 1 || endsArr.shape[0] !== info.numEpisodes) {
    bad(endsFile, `expected int32 of shape [${info.numEpisodes}], got ${endsArr.dtype} [${endsArr.shape.join(', ')}]`);
  }
  const episodeEnds = endsArr.data as Int32Array;
  for (let i = 0; i < episodeEnds.length; i++) {
    const prev = i === 0 ? 0 : episodeEnds[i - 1]!;
    if (!(episodeEnds[i]! > prev)) bad(endsFile, `episode ${i} ends at ${episodeEnds[i]} after ${prev} (ends must increase)`);
  }
  if (episodeEnds[episodeEnds.length - 1] !== info.numFrames) bad(endsFile, `last end ${episodeEnds[episodeEnds.length - 1]} ≠ numFrames ${info.numFrames}`);

  // --- episodes.jsonl ---
  const epFile = join(root, 'meta', 'episodes.jsonl');
  let epText: string;
  try { epText = readFileSync(epFile, 'utf8'); } catch { return bad(epFile, 'missing'); }
  const lines = epText.split('\n').filter((l) => l.trim().length > 0);
  if (lines.length !== info.numEpisodes) bad(epFile, `${lines.length} lines, expected ${info.numEpisodes}`);
  const episodes: EpisodeInfo[] = lines.map((line, i) => {
    let e: unknown;
    try { e = JSON.parse(line); } catch { return bad(epFile, `line ${i + 1} is not JSON`); }
    if (!isObj(e)) return bad(epFile, `line ${i + 1} is not an object`);
    const len = episodeEnds[i]! - (i === 0 ? 0 : episodeEnds[i - 1]!);
    if (e.length !== len) bad(epFile, `line ${i + 1}: length ${String(e.length)} ≠ ${len} from episode_ends`);
    if (typeof e.seed !== 'number') bad(epFile, `line ${i + 1}: seed missing`);
    return { index: i, length: len, seed: e.seed as number, success: !!e.success, labels: isObj(e.labels) ? (e.labels as Record<string, number | string>) : {} };
  });

  // --- stats ---
  const statsFile = join(root, 'meta', 'stats.json');
  const st = readJson(statsFile);
  if (!isObj(st)) return bad(statsFile, 'expected an object');
  const stats: Record<string, FeatureStats> = {};
  for (const [k, spec] of Object.entries(features)) {
    const s = st[k], n = featureSize(spec);
    if (!isObj(s) || !(['min', 'max', 'mean', 'std'] as const).every((f) => Array.isArray(s[f]) && (s[f] as unknown[]).length === n)) {
      bad(statsFile, `stats of '${k}' missing or not ${n} elements each`);
    }
    stats[k] = s as unknown as FeatureStats;
  }
  // --- transitions ---
  let transitions: Transitions | null = null;
  if (info.transitions) {
    const col = (key: string, dtype: string) => {
      const file = join(root, 'data', `${key}.npy`);
      if (!existsSync(file)) bad(file, `missing (info.json lists ${key})`);
      const a = readNpy(file);
      if (a.dtype !== dtype || a.shape.join(',') !== String(info.numFrames)) bad(file, `expected ${dtype} of shape [${info.numFrames}], got ${a.dtype} [${a.shape.join(', ')}]`);
      return a.data;
    };
    transitions = { reward: col(NEXT_REWARD, 'float32') as Float32Array, done: col(NEXT_DONE, 'uint8') as Uint8Array };
  }
  return { info, stats, episodes, columns, episodeEnds, transitions };
}

// --- sequence sampling ---

export interface SequenceSamplerOptions {
  /** Frames of observation history per sample, ending at the anchor frame t: t−obsHorizon+1 … t. */
  obsHorizon: number;
  /** Frames of actions per sample: t+actionOffset … t+actionOffset+actionHorizon−1. */
  actionHorizon: number;
  /**
   * First action frame relative to the anchor. 0 (default): actions start at the current frame (LeRobot's
   * delta-timestamps convention). −(obsHorizon−1): Diffusion Policy's convention, where the predicted window starts
   * with the oldest observed frame.
   */
  actionOffset?: number;
  /** Observation keys to sample (default: every feature except the action key). */
  keys?: readonly string[];
  /** The action feature (default 'action'). */
  actionKey?: string;
  /** Seed of the sampler's own RNG (batch draws). */
  seed?: number;
}

export interface SequenceBatch {
  batchSize: number;
  /** Per key: batch × obsHorizon × size, float32. */
  obs: Record<string, Float32Array>;
  /** batch × actionHorizon × actionSize, float32. */
  action: Float32Array;
  /** batch × actionHorizon: 1 where the action frame is padding (outside the episode). */
  actionIsPad: Uint8Array;
  /** batch × obsHorizon: 1 where the observation frame is padding. */
  obsIsPad: Uint8Array;
  /** Anchor frame of each sample (global frame index). */
  anchors: Int32Array;
}

/**
 * Samples fixed-length windows that never cross an episode boundary. Every frame of every episode is an anchor
 * (numSamples = numFrames); frames outside the anchor's episode are padded by repeating the episode's first frame
 * (before) or last frame (after), as in Diffusion Policy.
 *
 * ```
 * episode:        f0 f1 f2 f3            obsHorizon 2, actionHorizon 3, actionOffset 0
 * anchor f0: obs [f0* f0]  act [f0 f1 f2]      (* = padding)
 * anchor f3: obs [f2  f3]  act [f3 f3* f3*]
 * ```
 */
export class SequenceSampler {
  readonly numSamples: number;
  readonly obsKeys: readonly string[];
  readonly actionKey: string;
  readonly obsHorizon: number;
  readonly actionHorizon: number;
  readonly actionOffset: number;
  private readonly rng: Rng;
  /** Episode start / end (exclusive) of every frame. */
  private readonly epStart: Int32Array;
  private readonly epEnd: Int32Array;
  private readonly sizes: Record<string, number>;

  constructor(private readonly ds: Pick<Dataset, 'info' | 'columns' | 'episodeEnds'>, opts: SequenceSamplerOptions) {
    const { obsHorizon, actionHorizon } = opts;
    if (!Number.isInteger(obsHorizon) || obsHorizon < 1) throw new Error(`sampler: obsHorizon must be an integer ≥ 1, got ${obsHorizon}`);
    if (!Number.isInteger(actionHorizon) || actionHorizon < 1) throw new Error(`sampler: actionHorizon must be an integer ≥ 1, got ${actionHorizon}`);
    this.obsHorizon = obsHorizon;
    this.actionHorizon = actionHorizon;
    this.actionOffset = opts.actionOffset ?? 0;
    if (!Number.isInteger(this.actionOffset)) throw new Error(`sampler: actionOffset must be an integer, got ${this.actionOffset}`);
    this.actionKey = opts.actionKey ?? 'action';
    const feats = ds.info.features;
    if (!feats[this.actionKey]) throw new Error(`sampler: dataset has no feature '${this.actionKey}'`);
    this.obsKeys = opts.keys ?? Object.keys(feats).filter((k) => k !== this.actionKey);
    this.sizes = {};
    for (const k of [...this.obsKeys, this.actionKey]) {
      if (!feats[k] || !ds.columns[k]) throw new Error(`sampler: dataset has no feature '${k}' (has: ${Object.keys(feats).join(', ')})`);
      this.sizes[k] = featureSize(feats[k]!);
    }
    const n = ds.info.numFrames;
    this.numSamples = n;
    this.epStart = new Int32Array(n);
    this.epEnd = new Int32Array(n);
    let s = 0;
    for (const e of ds.episodeEnds) {
      for (let t = s; t < e; t++) { this.epStart[t] = s; this.epEnd[t] = e; }
      s = e;
    }
    if (s !== n) throw new Error(`sampler: episode ends (${s}) do not cover numFrames (${n})`);
    this.rng = new Rng(opts.seed ?? 0);
  }

  /** A batch of `batchSize` anchors drawn uniformly (with replacement) from the sampler's RNG. */
  sample(batchSize: number): SequenceBatch {
    const anchors = new Int32Array(batchSize);
    for (let i = 0; i < batchSize; i++) anchors[i] = this.rng.int(this.numSamples);
    return this.batch(anchors);
  }

  /** The batch for given anchor frames (e.g. an epoch order of the caller's choosing). */
  batch(anchors: ArrayLike<number>): SequenceBatch {
    const B = anchors.length, To = this.obsHorizon, Ta = this.actionHorizon;
    const anc = Int32Array.from(anchors);
    const obs: Record<string, Float32Array> = {};
    for (const k of this.obsKeys) obs[k] = new Float32Array(B * To * this.sizes[k]!);
    const aSize = this.sizes[this.actionKey]!;
    const action = new Float32Array(B * Ta * aSize);
    const actionIsPad = new Uint8Array(B * Ta);
    const obsIsPad = new Uint8Array(B * To);
    const aCol = this.ds.columns[this.actionKey]!;
    for (let b = 0; b < B; b++) {
      const t = anc[b]!;
      if (!(t >= 0 && t < this.numSamples)) throw new Error(`sampler: anchor ${t} out of range [0, ${this.numSamples})`);
      const s = this.epStart[t]!, e = this.epEnd[t]!;
      for (let i = 0; i < To; i++) {
        const raw = t - To + 1 + i;
        const f = raw < s ? s : raw;
        obsIsPad[b * To + i] = raw < s ? 1 : 0;
        for (const k of this.obsKeys) {
          const size = this.sizes[k]!, col = this.ds.columns[k]!, out = obs[k]!;
          const o = (b * To + i) * size, src = f * size;
          for (let j = 0; j < size; j++) out[o + j] = col[src + j]!;
        }
      }
      for (let i = 0; i < Ta; i++) {
        const raw = t + this.actionOffset + i;
        const f = raw < s ? s : raw >= e ? e - 1 : raw;
        actionIsPad[b * Ta + i] = raw < s || raw >= e ? 1 : 0;
        const o = (b * Ta + i) * aSize, src = f * aSize;
        for (let j = 0; j < aSize; j++) action[o + j] = aCol[src + j]!;
      }
    }
    return { batchSize: B, obs, action, actionIsPad, obsIsPad, anchors: anc };
  }

  /** RNG state, for bit-exact resume of a training run. */
  getState(): number[] { return this.rng.getState(); }
  setState(s: readonly number[]): void { this.rng.setState(s); }
}

/** Convenience: the column slice of episode `i` (a view, no copy). */
export function episodeSlice(ds: Dataset, key: string, i: number): FeatureArray {
  const spec = ds.info.features[key];
  if (!spec) throw new Error(`dataset has no feature '${key}'`);
  const size = featureSize(spec);
  const s = i === 0 ? 0 : ds.episodeEnds[i - 1]!, e = ds.episodeEnds[i]!;
  return ds.columns[key]!.subarray(s * size, e * size);
}

/** dtype of a column, for tools. */
export { dtypeOf };
