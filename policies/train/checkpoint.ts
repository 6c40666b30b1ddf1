/**
 * Checkpoints, written atomically: `RUN/checkpoints/<step>/` is built in a temp folder and renamed into place; then
 * `RUN/latest` (a one-line file naming the step) is replaced by rename.
 *
 * A checkpoint folder holds:
 * - `model.json` + `weights.bin`: the policy's networks with their inference weights (EMA when the method keeps one)
 *   as a real TensorFlow.js LayersModel — `tf.loadLayersModel(url)` loads it in a browser or Node with plain
 *   @tensorflow/tfjs (layout: common/layers_model.ts); `userDefinedMetadata.stride` maps its layer weights back to
 *   Stride's parameters for `loadPolicy`. Checkpoints written before (model.json `format: 'stride-policy'`, a bare
 *   weights manifest) still load.
 * - `manifest.json`: method, features, horizons, normaliser stats, training command, git commit, backend, step and
 *   the safety envelope { actionLow, actionHigh, maxDeltaPerStep } the robot bridge enforces.
 * - `train_state.json` + `train_state.bin` (optional): live weights, Adam moments, EMA, RNG and sampler states —
 *   everything `--resume` needs to continue bit-identically.
 *
 * Integrity: `manifest.json` is written last and records `files` — the byte size and SHA-256 of every other file in
 * the folder, whatever the file set is — and `manifestSha256`, the SHA-256 of its own JSON without that field.
 * `verifyCheckpoint` checks them all; every reader here calls it first, so a checkpoint whose files are missing,
 * empty, truncated, altered or extra is refused with one line naming the file. `saveCheckpoint` verifies the folder
 * it built before renaming it into place, so `latest` never points at one that fails. (`sealCheckpoint` adds the
 * record to a folder written by other means, e.g. a shipped checkpoint.)
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createHash, randomBytes } from 'node:crypto';
import { gitCommit, writeAtomic, writeDurable as writeFileDurable } from '../../sim/data/atomic.ts';
import type { Features } from '../../sim/core/features.ts';
import type { Horizons } from '../common/chunking.ts';
import type { NormalizerJson } from '../common/normalizer.ts';
import type { MethodPolicy, PolicySpec, SafetyEnvelope } from '../common/policy.ts';
import { exportLayersModel, type LayersModelJson } from '../common/layers_model.ts';
import { decodeWeights, encodeWeights, readBin, readJsonFile, type WeightsManifestEntry } from '../common/weights_io.ts';

export const CHECKPOINT_FORMAT_VERSION = 1;

export interface CheckpointManifest {
  formatVersion: number;
  method: string;
  step: number;
  spec: PolicySpec;
  features: { observation: Features; action: Features };
  horizons: Horizons;
  normalizers: Record<string, NormalizerJson>;
  safetyEnvelope: SafetyEnvelope;
  trainingCommand: string;
  gitCommit: string;
  backend: string;
  sceneId: string;
  createdAt: string;
  /** The checkpoint a warm-started run began from (`stride train --init`); absent for runs from scratch. */
  init?: InitRef;
  /** Byte size and SHA-256 (hex) of every other file of the checkpoint folder, by file name. */
  files?: Record<string, FileDigest>;
  /** SHA-256 (hex) of this manifest's JSON (2-space indented) without this field. */
  manifestSha256?: string;
}

export interface FileDigest { bytes: number; sha256: string }

// --- integrity ---

const MANIFEST = 'manifest.json';

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Files of a checkpoint folder other than the manifest, READMEs and dotfiles (sub-folders included, as relative posix paths). */
function checkpointFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.name.startsWith('.') || /^readme/i.test(e.name)) continue; // notes for people, never read by a loader
    if (e.isDirectory()) out.push(...checkpointFiles(dir, r));
    else if (r !== MANIFEST) out.push(r);
  }
  return out;
}

function manifestText(m: CheckpointManifest): string {
  const { manifestSha256: _omit, ...rest } = m;
  return JSON.stringify(rest, null, 2);
}

/** Record the size and hash of every file in `dir` into `manifest` and write it as `dir/manifest.json` (durably). */
export function sealCheckpoint(dir: string, manifest: CheckpointManifest): CheckpointManifest {
  const files: Record<string, FileDigest> = {};
  for (const f of checkpointFiles(dir)) {
    const data = readFileSync(path.join(dir, f));
    files[f] = { bytes: data.length, sha256: sha256(data) };
  }
  const sealed: CheckpointManifest = { ...manifest, files };
  delete sealed.manifestSha256;
  sealed.manifestSha256 = sha256(manifestText(sealed));
  writeFileDurable(path.join(dir, MANIFEST), JSON.stringify(sealed, null, 2));
  return sealed;
}

/**
 * Check every file of checkpoint `dir` against its manifest's record; returns the manifest. Throws one line naming
 * the first file that is missing, empty, of the wrong size, altered or not recorded.
 */
export function verifyCheckpoint(dir: string): CheckpointManifest {
  const mf = path.join(dir, MANIFEST);
  if (!existsSync(mf)) throw new Error(`corrupt checkpoint ${mf}: missing`);
  if (statSync(mf).size === 0) throw new Error(`corrupt checkpoint ${mf}: empty file`);
  const m = readJsonFile<CheckpointManifest>(mf, 'checkpoint manifest');
  need(m && typeof m === 'object' && !Array.isArray(m), mf, 'not an object');
  need(m.files && typeof m.files === 'object' && typeof m.manifestSha256 === 'string', mf, 'no integrity record (files, manifestSha256): written by an older Stride, or not by Stride');
  need(sha256(manifestText(m)) === m.manifestSha256, mf, 'altered (its SHA-256 does not match the one it records)');
  const recorded = Object.keys(m.files!);
  for (const name of recorded) {
    const d = m.files![name]!;
    const f = path.join(dir, name);
    if (!existsSync(f)) throw new Error(`corrupt checkpoint ${f}: missing`);
    const data = readFileSync(f);
    if (data.length === 0 && d.bytes !== 0) throw new Error(`corrupt checkpoint ${f}: empty file (expected ${d.bytes} bytes)`);
    if (data.length !== d.bytes) throw new Error(`corrupt checkpoint ${f}: ${data.length} bytes, the manifest records ${d.bytes} (truncated or extended)`);
    if (sha256(data) !== d.sha256) throw new Error(`corrupt checkpoint ${f}: altered (SHA-256 does not match the manifest)`);
  }
  const extra = checkpointFiles(dir).filter((f) => !Object.prototype.hasOwnProperty.call(m.files, f));
  if (extra.length) throw new Error(`corrupt checkpoint ${path.join(dir, extra[0]!)}: not recorded in the manifest`);
  return m;
}

/** model.json of checkpoints written before the LayersModel export (still read). */
export interface ModelJsonV1 {
  format: 'stride-policy';
  formatVersion: number;
  generatedBy: string;
  modelTopology: { method: string; config: Record<string, unknown> };
  weightsManifest: WeightsManifestEntry[];
}

export interface TrainStateJson {
  step: number;
  adamStep: number;
  /** Arbitrary JSON state of the trainer (RNG states, sampler state, PPO iteration…). */
  trainer: Record<string, unknown>;
  weightsManifest: WeightsManifestEntry[];
}

export interface TrainState {
  step: number;
  adamStep: number;
  trainer: Record<string, unknown>;
  /** 'param/<name>', 'adam_m/<name>', 'adam_v/<name>', 'ema/<name>'. */
  arrays: Record<string, Float32Array>;
}

/** The git probe and the atomic writer live in sim/data/atomic.ts; re-exported for the trainers that import them here. */
export { gitCommit, writeAtomic };

/** Write checkpoint `step` of `runDir` atomically and point `latest` at it. Returns the folder. */
export async function saveCheckpoint(runDir: string, step: number, policy: MethodPolicy, meta: Omit<CheckpointManifest, 'formatVersion' | 'method' | 'step' | 'spec' | 'features' | 'horizons' | 'normalizers' | 'createdAt'>, train?: TrainState): Promise<string> {
  const root = path.join(runDir, 'checkpoints');
  mkdirSync(root, { recursive: true });
  const final = path.join(root, String(step));
  const tmp = path.join(root, `.tmp-${step}-${process.pid}-${randomBytes(3).toString('hex')}`);
  mkdirSync(tmp);
  try {
    await writeModelFiles(tmp, policy);
    const manifest: CheckpointManifest = {
      formatVersion: CHECKPOINT_FORMAT_VERSION, method: policy.method, step, spec: policy.spec, features: policy.spec.features,
      horizons: policy.horizons, normalizers: policy.spec.normalizers, createdAt: new Date().toISOString(), ...meta,
    };
    if (train) {
      const tshapes: Record<string, number[]> = {};
      for (const k of Object.keys(train.arrays)) tshapes[k] = [train.arrays[k]!.length];
      const tw = await encodeWeights(train.arrays, tshapes);
      writeFileDurable(path.join(tmp, 'train_state.bin'), tw.data);
      const ts: TrainStateJson = { step: train.step, adamStep: train.adamStep, trainer: train.trainer, weightsManifest: [{ paths: ['train_state.bin'], weights: tw.specs }] };
      writeFileDurable(path.join(tmp, 'train_state.json'), JSON.stringify(ts));
    }
    sealCheckpoint(tmp, manifest);
    verifyCheckpoint(tmp); // read back from disk: `latest` must never point at a checkpoint that fails to load
    if (existsSync(final)) rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  writeAtomic(path.join(runDir, 'latest'), `${step}\n`);
  return final;
}

/**
 * Write `model.json` + `weights.bin` (the TF.js LayersModel of the policy's networks with its inference weights) into
 * `dir`. Also how an older checkpoint is brought to this layout: `writeModelFiles(dir, loadPolicy(dir))`.
 */
export async function writeModelFiles(dir: string, policy: MethodPolicy): Promise<void> {
  const inference = policy.ema ? policy.ema.toArrays() : policy.params.toArrays();
  const { modelJson, weightData } = await exportLayersModel(policy.networks, inference, { method: policy.method, config: policy.spec.config });
  writeFileDurable(path.join(dir, 'weights.bin'), weightData);
  writeFileDurable(path.join(dir, 'model.json'), JSON.stringify(modelJson));
}

/** Resolve a run folder (+ optional step) or a checkpoint folder to a checkpoint folder. */
export function resolveCheckpoint(dir: string, step?: number): string {
  if (!existsSync(dir)) throw new Error(`run or checkpoint not found: ${dir}`);
  if (existsSync(path.join(dir, 'manifest.json'))) return dir;
  if (step !== undefined) {
    const d = path.join(dir, 'checkpoints', String(step));
    if (!existsSync(d)) throw new Error(`checkpoint ${step} not found in ${dir} (have: ${listCheckpoints(dir).join(', ') || 'none'})`);
    return d;
  }
  const latest = path.join(dir, 'latest');
  if (!existsSync(latest)) throw new Error(`${dir}: no checkpoint yet (no 'latest' file)`);
  const s = Buffer.from(readBin(latest)).toString('utf8').trim();
  if (!/^\d+$/.test(s)) throw new Error(`corrupt ${latest}: expected a step number, got '${s.slice(0, 40)}'`);
  const d = path.join(dir, 'checkpoints', s);
  if (!existsSync(d)) throw new Error(`${latest} points at missing checkpoint ${d}`);
  return d;
}

export function listCheckpoints(runDir: string): number[] {
  const root = path.join(runDir, 'checkpoints');
  if (!existsSync(root)) return [];
  return readdirSync(root).filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b);
}

function need(cond: unknown, file: string, what: string): void {
  if (!cond) throw new Error(`corrupt checkpoint ${file}: ${what}`);
}

export function readManifest(ckptDir: string): CheckpointManifest {
  const f = path.join(ckptDir, 'manifest.json');
  const m = verifyCheckpoint(ckptDir);
  need(m.formatVersion === CHECKPOINT_FORMAT_VERSION, f, `unsupported formatVersion ${m.formatVersion}`);
  need(typeof m.method === 'string' && m.spec && typeof m.spec === 'object', f, 'missing method/spec');
  need(m.features && m.features.action && m.features.observation, f, 'missing features');
  need(m.safetyEnvelope && Array.isArray(m.safetyEnvelope.actionLow), f, 'missing safety envelope');
  return m;
}

/** Inference weights of a checkpoint (name → data). */
export function readModelWeights(ckptDir: string): Record<string, Float32Array> {
  return readInference(ckptDir).arrays;
}

/**
 * Inference weights with their shapes, by Stride parameter name, from either model.json layout: a LayersModel whose
 * `userDefinedMetadata.stride.params` names each layer weight's parameter, or the older bare weights manifest.
 */
function readInference(ckptDir: string): { arrays: Record<string, Float32Array>; shapes: Record<string, number[]> } {
  const f = path.join(ckptDir, 'model.json');
  const mj = readJsonFile<ModelJsonV1 | LayersModelJson>(f, 'checkpoint model');
  const layers = mj && mj.format === 'layers-model';
  need(mj && (mj.format === 'stride-policy' || (layers && (mj as LayersModelJson).userDefinedMetadata?.stride?.params)), f, 'not a Stride checkpoint model.json (neither a Stride LayersModel nor a stride-policy weights manifest)');
  need(Array.isArray(mj.weightsManifest) && mj.weightsManifest.length === 1, f, 'bad weightsManifest');
  const entry = mj.weightsManifest[0]!;
  need(Array.isArray(entry.paths) && entry.paths.length === 1 && Array.isArray(entry.weights), f, 'bad weightsManifest');
  const bin = path.join(ckptDir, entry.paths[0]!);
  const raw = decodeWeights(readBin(bin), entry.weights, bin);
  const rawShapes = Object.fromEntries(entry.weights.map((w) => [w.name, w.shape]));
  if (!layers) return { arrays: raw, shapes: rawShapes };
  const names = (mj as LayersModelJson).userDefinedMetadata.stride.params;
  const arrays: Record<string, Float32Array> = {}, shapes: Record<string, number[]> = {};
  for (const [w, a] of Object.entries(raw)) {
    need(w in names, f, `layer weight '${w}' has no Stride parameter in userDefinedMetadata.stride.params`);
    const p = names[w];
    if (!p) continue; // zero kernel of a constant output
    arrays[p] = a; shapes[p] = rawShapes[w]!;
  }
  return { arrays, shapes };
}

export function readTrainState(ckptDir: string): TrainState {
  verifyCheckpoint(ckptDir);
  const f = path.join(ckptDir, 'train_state.json');
  const j = readJsonFile<TrainStateJson>(f, 'training state');
  need(j && Number.isInteger(j.step) && Array.isArray(j.weightsManifest) && j.weightsManifest[0], f, 'bad training state');
  const entry = j.weightsManifest[0]!;
  const bin = path.join(ckptDir, entry.paths[0]!);
  return { step: j.step, adamStep: j.adamStep, trainer: j.trainer, arrays: decodeWeights(readBin(bin), entry.weights, bin) };
}

// --- resume state: the one layout of train_state.bin ('param/', 'adam_m/', 'adam_v/', 'ema/' per parameter) ---

/** Live weights, Adam moments and (when the method keeps one) the EMA shadow, each name → data. */
export interface ResumeArrays {
  weights: Record<string, Float32Array>;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
  ema: Record<string, Float32Array> | null;
}

/** Lay out `s` for `TrainState.arrays`, parameter by parameter in `names` order (the order fixes the file's bytes). */
export function packTrainArrays(names: readonly string[], s: ResumeArrays): Record<string, Float32Array> {
  const a: Record<string, Float32Array> = {};
  for (const n of names) {
    a[`param/${n}`] = s.weights[n]!; a[`adam_m/${n}`] = s.m[n]!; a[`adam_v/${n}`] = s.v[n]!;
    if (s.ema) a[`ema/${n}`] = s.ema[n]!;
  }
  return a;
}

/** Inverse of packTrainArrays; `ema` is null unless asked for and present for every parameter. */
export function unpackTrainArrays(names: readonly string[], st: TrainState, withEma: boolean): ResumeArrays {
  const weights: Record<string, Float32Array> = {}, m: Record<string, Float32Array> = {}, v: Record<string, Float32Array> = {};
  let ema: Record<string, Float32Array> | null = withEma ? {} : null;
  for (const n of names) {
    weights[n] = st.arrays[`param/${n}`]!; m[n] = st.arrays[`adam_m/${n}`]!; v[n] = st.arrays[`adam_v/${n}`]!;
    if (ema) { const e = st.arrays[`ema/${n}`]; if (!e) ema = null; else ema[n] = e; }
  }
  return { weights, m, v, ema };
}

/**
 * Restore a policy's live weights, its optimiser and its EMA (when both sides have one) from checkpoint `ck`; returns
 * the training state so the trainer can restore its own RNG/sampler states from `trainer`.
 */
export function restoreTrainState(ck: string, policy: MethodPolicy, opt: { setState(s: { step: number; m: Record<string, Float32Array>; v: Record<string, Float32Array> }, where?: string): void }): TrainState {
  const st = readTrainState(ck);
  const where = `${ck}/train_state.bin`;
  const u = unpackTrainArrays(policy.params.names, st, !!policy.ema);
  policy.params.assignArrays(u.weights, where);
  opt.setState({ step: st.adamStep, m: u.m, v: u.v }, where);
  if (policy.ema && u.ema) policy.ema.assignArrays(u.ema, where);
  return st;
}

// --- warm start: `stride train --init RUN[:STEP]` ---

/** Where a fresh run's starting weights came from; recorded in config.json (`init`) and in every checkpoint manifest. */
export interface InitRef {
  /** The parent run (or checkpoint) folder, absolute. */
  run: string;
  /** The parent checkpoint's step. */
  step: number;
  /** The parent checkpoint folder whose inference weights (model.json + weights.bin: EMA when kept, else live) seed the run. */
  checkpoint: string;
}

/** Parse `RUN[:STEP]` (RUN may also be a checkpoint folder) and resolve it to a checkpoint; one-line errors. */
export function resolveInit(arg: string): InitRef {
  const m = /^(.+):(\d+)$/.exec(arg);
  const run = path.resolve(m ? m[1]! : arg);
  try {
    const checkpoint = resolveCheckpoint(run, m ? Number(m[2]) : undefined);
    return { run, step: readManifest(checkpoint).step, checkpoint };
  } catch (e) {
    throw new Error(`--init ${arg}: ${(e as Error).message}`);
  }
}

/** Inference weights of a checkpoint with their shapes (name → data, name → shape). */
export function readModelWeightsWithShapes(ckptDir: string): { arrays: Record<string, Float32Array>; shapes: Record<string, number[]> } {
  verifyCheckpoint(ckptDir);
  return readInference(ckptDir);
}

/**
 * Match `arrays` (name → data, with `shapes`) to the parameters of `policy` by name. A parameter missing from them is a
 * one-line error `${where}: …` naming it — unless the policy lists it in `ownInitParams` (it then keeps its own init and
 * is reported in `own`); a parameter held with another shape is always an error. `copied` lists the matched ones.
 */
export function matchInitWeights(arrays: Record<string, Float32Array>, shapes: Record<string, number[]>, policy: MethodPolicy, where: string): { weights: Record<string, Float32Array>; copied: string[]; own: string[] } {
  const mayLack = new Set(policy.ownInitParams ?? []);
  const weights: Record<string, Float32Array> = {}, copied: string[] = [], own: string[] = [];
  for (const n of policy.params.names) {
    const want = policy.params.get(n).shape, have = shapes[n];
    if (!arrays[n] || !have) {
      if (mayLack.has(n)) { own.push(n); continue; }
      throw new Error(`${where}: no parameter '${n}' in the checkpoint (a ${policy.method} run needs it)`);
    }
    if (have.length !== want.length || have.some((d, i) => d !== want[i])) throw new Error(`${where}: parameter '${n}' has shape [${have.join(', ')}], this run's is [${want.join(', ')}]`);
    if (arrays[n]!.length !== policy.params.get(n).size) throw new Error(`${where}: parameter '${n}' has ${arrays[n]!.length} values, expected ${policy.params.get(n).size}`);
    weights[n] = arrays[n]!;
    copied.push(n);
  }
  return { weights, copied, own };
}

/** The parent checkpoint's inference weights for the parameters of `policy` (see `matchInitWeights`). */
export function initWeights(ref: InitRef, policy: MethodPolicy): { weights: Record<string, Float32Array>; copied: string[]; own: string[] } {
  const { arrays, shapes } = readModelWeightsWithShapes(ref.checkpoint);
  return matchInitWeights(arrays, shapes, policy, `--init ${ref.checkpoint}`);
}

/**
 * Start `policy` from matched weights: the live weights and the EMA shadow of every copied parameter become them;
 * `own` parameters keep their own init in both.
 */
export function assignInit(policy: MethodPolicy, m: { weights: Record<string, Float32Array>; copied: string[]; own: string[] }): { copied: string[]; own: string[] } {
  for (const n of m.copied) {
    const v = policy.params.get(n);
    v.assign(tf.tensor(m.weights[n]!, v.shape));
    const s = policy.ema?.shadow.get(n);
    if (s) s.assign(tf.tensor(m.weights[n]!, s.shape));
  }
  if (policy.ema) for (const n of m.own) policy.ema.shadow.get(n)?.assign(policy.params.get(n));
  return { copied: m.copied, own: m.own };
}

/**
 * Start `policy` from `ref`: every parameter the parent has becomes the parent's inference weights (live and EMA);
 * the policy's `ownInitParams` the parent lacks keep their own init. Returns what was copied. On failure (missing or
 * mis-shaped parameter) the run's own `owned` objects (policy, optimiser) are disposed before the error goes up.
 */
export function applyInit(ref: InitRef, policy: MethodPolicy, owned: { dispose(): void }[] = []): { copied: string[]; own: string[] } {
  try {
    return assignInit(policy, initWeights(ref, policy));
  } catch (e) {
    for (const o of owned) o.dispose();
    throw e;
  }
}
