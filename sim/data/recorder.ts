/**
 * MCAP recordings of rollouts (DESIGN.md §3): enough to watch an episode and to re-simulate it bit-exactly.
 *
 * Channels (JSON messages, each with a JSON Schema; logTime = simulated time, episodes laid end to end):
 * | topic                | schema              | when                    | content                                                     |
 * |----------------------|---------------------|-------------------------|-------------------------------------------------------------|
 * | /stride/meta         | stride.Meta         | once, first             | formatVersion, sceneId, overrides, engineVersion, policy, command, parent, ctrlDtSec, features |
 * | /stride/scene        | stride.EpisodeStart | after each reset        | episode, seed, options, initialStateHash, RenderScene, initialSnapshot (forks) |
 * | /stride/step         | stride.Step         | after each env step     | episode, step, action (+ negativeZeros: indices of −0 elements, which JSON writes as 0), reward, terminated, truncated, metrics, reason, stateHash |
 * | /stride/frame        | stride.Frame        | after reset and steps   | episode, t (actions applied so far), RenderFrame             |
 * | /stride/observation  | stride.Observation  | after reset and steps   | episode, t, observation (key → number[]; > 32 elements: { dtype, b64 }) |
 * | /stride/episode      | stride.EpisodeEnd   | at each episode end     | episode, EpisodeSummary                                      |
 *
 * | /foxglove/tf        | foxglove.FrameTransforms | after reset and steps | `world` → `stride` at reset; `stride` → `v<id>` per moving visual |
 * | /foxglove/scene      | foxglove.SceneUpdate    | at reset; on change   | visuals once per episode, overlays when they change (foxglove.ts) |
 * | /camera/depth        | foxglove.RawImage       | after reset and steps | `observation.depth` as 32FC1 (scenes with a depth camera)  |
 * | /camera/calibration  | foxglove.CameraCalibration | at each reset      | pinhole intrinsics of that camera                          |
 * | /joint_states        | foxglove.JointStates    | after reset and steps | the `q_*`/`qd_*` entries of `observation.state`            |
 *
 * Visual ids are small integers (the visual's index in the episode's RenderScene), not Rapier handles (which are
 * float64 bit patterns that print as denormals, e.g. 1e-323); the viewer only needs them to match between the scene
 * and its frames. Chunks are zstd-compressed (@foxglove/wasm-zstd; every MCAP reader, Foxglove included, reads it);
 * the header's profile is `stride`; an MCAP Metadata record `stride` (written at close) carries scene, seeds, engine
 * build, policy, command, commit and overrides as strings for tools that read metadata. formatVersion 2; files of
 * formatVersion 1 (uncompressed, handle ids, a full SceneUpdate per step) stay readable (replay.ts).
 *
 * `stateHash` is `env.stateHash()` (sha256 of the full snapshot) after the step; `verifyRecording` (replay.ts) re-creates
 * the env from the meta, replays the actions and compares every hash.
 *
 * The file is written to `<file>.tmp-<pid>-<rand>` and renamed on `close()`; `abort()` deletes it. Messages go straight
 * to disk in 1 MiB chunks through a synchronous writer (mcap_writer.ts), so the synchronous rollout loop can call the
 * hooks without piling messages up in memory.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Observation } from '../core/features.ts';
import type { StepResult } from '../core/env.ts';
import type { EpisodeHooks, EpisodeSummary } from '../core/rollout.ts';
import type { SceneEnv } from '../core/scene_env.ts';
import * as zstd from '@foxglove/wasm-zstd';
import { OBS_DEPTH, OBS_STATE } from '../core/features.ts';
import { engineVersion } from '../physics/index.ts';
import { gitCommit } from './atomic.ts';
import { cameraCalibration, FOXGLOVE_SCHEMAS, FoxgloveScene, jointIndex, jointStates, rawDepthImage } from './foxglove.ts';
import { SyncMcapWriter, type ChunkCompression } from './mcap_writer.ts';

/** The format this build writes; it reads every version in RECORDING_FORMAT_VERSIONS_READ. */
export const RECORDING_FORMAT_VERSION = 2;
export const RECORDING_FORMAT_VERSIONS_READ: readonly number[] = [1, 2];
/** The MCAP header's profile. */
export const RECORDING_PROFILE = 'stride';
/** zstd level of chunk compression (3 = zstd's default: fast, ~10× on these JSON chunks). */
const ZSTD_LEVEL = 3;

/** zstd chunk compression, ready once `await zstdReady()` resolved. */
export async function zstdCompression(): Promise<ChunkCompression> {
  await zstd.isLoaded;
  return { name: 'zstd', compress: (b) => zstd.compress(b, ZSTD_LEVEL) };
}

export const TOPICS = {
  meta: '/stride/meta',
  scene: '/stride/scene',
  step: '/stride/step',
  frame: '/stride/frame',
  observation: '/stride/observation',
  episode: '/stride/episode',
} as const;

export const FOXGLOVE_TOPICS = {
  tf: '/foxglove/tf', scene: '/foxglove/scene', depth: '/camera/depth', calibration: '/camera/calibration', joints: '/joint_states',
} as const;

type FoxChannels = { tf: number; scene: number; depth: number | null; calibration: number | null; joints: number | null };

export interface RecordingParent {
  /** The recording this one was forked from. */
  file: string;
  episode: number;
  step: number;
}

export interface RecorderOptions {
  /** Name of the policy that acted (builtin name or run directory). */
  policy: string;
  /** Scene config overrides the env was made with (dotted paths), so a replay makes the same env. */
  overrides?: Record<string, unknown>;
  /** The command line that produced the recording. */
  command?: string;
  parent?: RecordingParent;
  /** Also write observations (default true; large for depth images). */
  observations?: boolean;
  /** Also write Foxglove channels (3D scene and transforms, depth image, joint states) so Foxglove shows the episode (default true). */
  foxglove?: boolean;
  /** Compress chunks with zstd (default true). */
  compress?: boolean;
}

export interface RecordingMetaMessage {
  formatVersion: number;
  sceneId: string;
  overrides: Record<string, unknown>;
  engineVersion: string;
  policy: string;
  command: string;
  parent: RecordingParent | null;
  ctrlDtSec: number;
  features: { observation: unknown; action: unknown };
}

/** Observation features larger than this many elements (images, depth) are stored as base64 of their little-endian bytes. */
const PACK_OVER = 32;

// --- JSON Schemas of the channels ---

const num = { type: 'number' };
const str = { type: 'string' };
const int = { type: 'integer' };
const numMap = { type: 'object', additionalProperties: num };
const frameSchema = {
  type: 'object',
  properties: {
    step: int, tSec: num, ids: { type: 'array', items: int },
    poses: { type: 'array', items: num, description: '7 per id: px, py, pz, qx, qy, qz, qw' },
    overlays: { type: 'array', items: { type: 'object' } }, hud: { type: 'object' },
  },
  required: ['step', 'tSec', 'ids', 'poses'],
};
const SCHEMAS: Record<keyof typeof TOPICS, { name: string; schema: object }> = {
  meta: {
    name: 'stride.Meta',
    schema: {
      type: 'object',
      properties: {
        formatVersion: int, sceneId: str, overrides: { type: 'object' }, engineVersion: str, policy: str, command: str,
        parent: { type: ['object', 'null'], properties: { file: str, episode: int, step: int } }, ctrlDtSec: num,
        features: { type: 'object' },
      },
      required: ['formatVersion', 'sceneId', 'overrides', 'engineVersion', 'policy'],
    },
  },
  scene: {
    name: 'stride.EpisodeStart',
    schema: {
      type: 'object',
      properties: {
        episode: int, seed: num, options: { type: ['object', 'null'] }, initialStateHash: str,
        initialSnapshot: { type: ['string', 'null'], description: 'base64 env snapshot when the episode starts from a restored state (forks)' },
        scene: { type: 'object', properties: { sceneId: str, visuals: { type: 'array', items: { type: 'object' } }, focus: { type: 'array', items: num } } },
      },
      required: ['episode', 'seed', 'initialStateHash', 'scene'],
    },
  },
  step: {
    name: 'stride.Step',
    schema: {
      type: 'object',
      properties: {
        episode: int, step: { ...int, description: '0-based index of the action in the episode' },
        action: { type: 'array', items: num },
        negativeZeros: { type: 'array', items: int, description: 'indices of action elements that are -0 (JSON writes -0 as 0; the physics can tell them apart)' },
        reward: num, terminated: { type: 'boolean' }, truncated: { type: 'boolean' },
        metrics: numMap, reason: { type: ['string', 'null'] },
        stateHash: { ...str, description: 'sha256 (hex) of the env snapshot after the step' },
      },
      required: ['episode', 'step', 'action', 'reward', 'terminated', 'truncated', 'metrics', 'stateHash'],
    },
  },
  frame: {
    name: 'stride.Frame',
    schema: { type: 'object', properties: { episode: int, t: int, frame: frameSchema }, required: ['episode', 't', 'frame'] },
  },
  observation: {
    name: 'stride.Observation',
    schema: {
      type: 'object',
      properties: {
        episode: int, t: int,
        observation: {
          type: 'object',
          description: `feature key → numbers; features over ${PACK_OVER} elements as { dtype, b64 } (base64 of little-endian bytes)`,
          additionalProperties: { oneOf: [{ type: 'array', items: num }, { type: 'object', properties: { dtype: str, b64: str } }] },
        },
      },
      required: ['episode', 't', 'observation'],
    },
  },
  episode: {
    name: 'stride.EpisodeEnd',
    schema: {
      type: 'object',
      properties: {
        episode: int,
        summary: {
          type: 'object',
          properties: { seed: num, return: num, length: int, success: { type: 'boolean' }, metrics: numMap, reason: str, finalStateHash: str },
        },
      },
      required: ['episode', 'summary'],
    },
  },
};

const liveTemps = new Set<string>();
let exitHookInstalled = false;

export type PackedArray = { dtype: 'float32' | 'int32' | 'uint8'; b64: string };

function obsToJson(obs: Observation): Record<string, number[] | PackedArray> {
  const out: Record<string, number[] | PackedArray> = {};
  for (const [k, v] of Object.entries(obs)) {
    if (v.length <= PACK_OVER) { out[k] = Array.from(v); continue; }
    const dtype = v instanceof Float32Array ? 'float32' : v instanceof Int32Array ? 'int32' : 'uint8';
    out[k] = { dtype, b64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  }
  return out;
}

/** Inverse of the packing above (used by readRecording). */
export function unpackArray(v: number[] | PackedArray): number[] {
  if (Array.isArray(v)) return v;
  const b = Buffer.from(v.b64, 'base64');
  const bytes = new Uint8Array(b.length);
  bytes.set(b);
  const a = v.dtype === 'float32' ? new Float32Array(bytes.buffer) : v.dtype === 'int32' ? new Int32Array(bytes.buffer) : bytes;
  return Array.from(a);
}

export class EpisodeRecorder {
  private readonly enc = new TextEncoder();
  private episode = -1;
  private seq = 0;
  /** logTime of the current episode's reset, ns. */
  private episodeBaseNs = 0n;
  /** logTime of the latest message, ns. */
  private lastNs = 0n;
  /** Rapier handles of the moving visuals (what env.renderFrame takes) and the integer ids written for them. */
  private frameHandles: number[] = [];
  private frameIntIds: number[] = [];
  private idOf = new Map<number, number>();
  private foxScene: FoxgloveScene | null = null;
  private readonly seeds: number[] = [];
  private readonly joints: { name: string; q: number; qd: number }[];
  private readonly depthShape: [number, number] | null;
  private state: 'open' | 'closed' | 'aborted' = 'open';

  private constructor(
    readonly file: string,
    private readonly tmp: string,
    private readonly fd: number,
    private readonly writer: SyncMcapWriter,
    private readonly channels: Record<keyof typeof TOPICS, number>,
    private readonly env: SceneEnv,
    private readonly withObs: boolean,
    private readonly fox: FoxChannels | null,
    private readonly meta: RecordingMetaMessage,
  ) {
    this.joints = jointIndex(env.observationFeatures[OBS_STATE]?.names);
    const d = env.observationFeatures[OBS_DEPTH];
    this.depthShape = d && d.shape.length === 2 && d.dtype === 'float32' ? [d.shape[0]!, d.shape[1]!] : null;
  }

  /** Open a recording of `env`'s episodes; call `episodeHooks(seed)` per episode, `endEpisode`, then `close()`. */
  static async create(file: string, env: SceneEnv, opts: RecorderOptions): Promise<EpisodeRecorder> {
    const target = resolve(file);
    mkdirSync(dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    const fd = openSync(tmp, 'w');
    liveTemps.add(tmp);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => { for (const t of liveTemps) rmSync(t, { force: true }); });
    }
    try {
      const writer = new SyncMcapWriter(fd, 1 << 20, (opts.compress ?? true) ? await zstdCompression() : null);
      writer.start({ profile: RECORDING_PROFILE, library: `stride recorder (format ${RECORDING_FORMAT_VERSION})` });
      const channels = {} as Record<keyof typeof TOPICS, number>;
      for (const key of Object.keys(TOPICS) as (keyof typeof TOPICS)[]) {
        const s = SCHEMAS[key];
        const schemaId = writer.registerSchema({ name: s.name, encoding: 'jsonschema', data: new TextEncoder().encode(JSON.stringify(s.schema)) });
        channels[key] = writer.registerChannel({ topic: TOPICS[key], schemaId, messageEncoding: 'json', metadata: new Map() });
      }
      let fox: FoxChannels | null = null;
      if (opts.foxglove ?? true) {
        const reg = (topic: string, s: { name: string; schema: object }) => writer.registerChannel({
          topic, messageEncoding: 'json', metadata: new Map(),
          schemaId: writer.registerSchema({ name: s.name, encoding: 'jsonschema', data: new TextEncoder().encode(JSON.stringify(s.schema)) }),
        });
        const d = env.observationFeatures[OBS_DEPTH];
        const hasDepth = !!d && d.shape.length === 2 && d.dtype === 'float32';
        fox = {
          tf: reg(FOXGLOVE_TOPICS.tf, FOXGLOVE_SCHEMAS.frameTransforms), scene: reg(FOXGLOVE_TOPICS.scene, FOXGLOVE_SCHEMAS.sceneUpdate),
          depth: hasDepth ? reg(FOXGLOVE_TOPICS.depth, FOXGLOVE_SCHEMAS.rawImage) : null,
          calibration: hasDepth ? reg(FOXGLOVE_TOPICS.calibration, FOXGLOVE_SCHEMAS.cameraCalibration) : null,
          joints: jointIndex(env.observationFeatures[OBS_STATE]?.names).length > 0 ? reg(FOXGLOVE_TOPICS.joints, FOXGLOVE_SCHEMAS.jointStates) : null,
        };
      }
      const meta: RecordingMetaMessage = {
        formatVersion: RECORDING_FORMAT_VERSION,
        sceneId: env.id,
        overrides: opts.overrides ?? {},
        engineVersion: engineVersion(),
        policy: opts.policy,
        command: opts.command ?? '',
        parent: opts.parent ?? null,
        ctrlDtSec: env.ctrlDtSec,
        features: { observation: env.observationFeatures, action: env.actionFeatures },
      };
      const rec = new EpisodeRecorder(target, tmp, fd, writer, channels, env, opts.observations ?? true, fox, meta);
      rec.push('meta', 0n, meta);
      return rec;
    } catch (e) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      liveTemps.delete(tmp);
      throw e;
    }
  }

  /** Hooks for `runEpisode(env, seed, policy, hooks)`; `options` are the reset options, if any. */
  episodeHooks(seed: number, options?: Record<string, unknown>): EpisodeHooks {
    const ep = this.nextEpisode();
    return {
      // A "reset" hook called on an env that has already stepped (a fork restored mid-episode) records the snapshot too.
      onReset: (obs) => this.beginEpisode(ep, seed, options ?? null, obs, this.env.stepIndex > 0 ? this.env.snapshot() : null),
      onStep: (t, action, r) => this.recordStep(ep, t, action, r),
    };
  }

  /**
   * For a branch that starts from the env's *current* state (e.g. a fork restored mid-episode in the viewer): records
   * that state's full snapshot right away, so `verifyRecording` resets with `seed`, restores the snapshot and replays
   * the branch's steps (numbered from 0). Call the returned `onStep` after every step; there is no `onReset`.
   */
  episodeHooksFromState(seed: number): EpisodeHooks {
    const ep = this.nextEpisode();
    this.beginEpisode(ep, seed, null, null, this.env.snapshot());
    return { onStep: (t, action, r) => this.recordStep(ep, t, action, r) };
  }
  endEpisode(summary: EpisodeSummary): void {
    this.mustBeOpen();
    if (this.episode < 0) throw new Error('recorder: endEpisode() before episodeHooks()');
    this.push('episode', this.lastNs, { episode: this.episode, summary });
  }

  /** Flush, finish the MCAP file and move it into place. */
  async close(): Promise<void> {
    this.mustBeOpen();
    try {
      const m = this.meta;
      this.writer.addMetadata('stride', {
        formatVersion: String(m.formatVersion), sceneId: m.sceneId, seeds: this.seeds.join(','), episodes: String(this.seeds.length),
        engineVersion: m.engineVersion, policy: m.policy, command: m.command, commit: gitCommit(), overrides: JSON.stringify(m.overrides),
        ctrlDtSec: String(m.ctrlDtSec), parent: m.parent ? JSON.stringify(m.parent) : '',
      });
      this.writer.end();
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.state = 'closed';
      renameSync(this.tmp, this.file);
      liveTemps.delete(this.tmp);
    } catch (e) {
      await this.abort();
      throw new Error(`recorder: could not write ${this.file}: ${(e as Error).message}`);
    }
  }

  /** Stop and delete the partial recording; nothing is left at the target path. */
  async abort(): Promise<void> {
    if (this.state === 'aborted') return;
    const wasOpen = this.state === 'open';
    this.state = 'aborted';
    if (wasOpen) { try { closeSync(this.fd); } catch { /* already closed */ } }
    rmSync(this.tmp, { force: true });
    liveTemps.delete(this.tmp);
  }

  // --- internals ---

  private nextEpisode(): number {
    this.mustBeOpen();
    this.episode++;
    this.episodeBaseNs = this.episode === 0 ? 0n : this.lastNs + this.ns(this.env.ctrlDtSec);
    return this.episode;
  }

  private beginEpisode(ep: number, seed: number, options: Record<string, unknown> | null, obs: Observation | null, snapshot: Uint8Array | null): void {
    const env = this.env;
    this.seeds.push(seed);
    const raw = env.renderScene();
    // Integer ids: a visual's index in the scene (handles are float64 bit patterns).
    this.idOf = new Map(raw.visuals.map((v, i) => [v.id, i]));
    const scene = { ...raw, visuals: raw.visuals.map((v, i) => ({ ...v, id: i })) };
    const moving = raw.visuals.filter((v) => !v.isStatic);
    this.frameHandles = moving.map((v) => v.id);
    this.frameIntIds = moving.map((v) => this.idOf.get(v.id)!);
    const t0 = this.episodeBaseNs;
    this.push('scene', t0, {
      episode: ep, seed, options, initialStateHash: env.stateHash(), scene,
      initialSnapshot: snapshot ? Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength).toString('base64') : null,
    });
    const frame = this.frame();
    this.push('frame', t0, { episode: ep, t: 0, frame });
    if (this.fox) {
      this.foxScene = new FoxgloveScene(scene);
      this.pushRaw(this.fox.scene, t0, this.foxScene.initial(frame, t0));
      this.pushRaw(this.fox.tf, t0, this.foxScene.transforms(frame, t0, true));
      if (this.fox.calibration !== null && this.depthShape) {
        const fovDeg = (env.config as { camera?: { fovDeg?: unknown } }).camera?.fovDeg;
        if (typeof fovDeg === 'number') this.pushRaw(this.fox.calibration, t0, cameraCalibration(this.depthShape[1], this.depthShape[0], fovDeg, t0));
      }
      if (obs) this.foxSensors(obs, t0);
    }
    if (this.withObs && obs) this.push('observation', t0, { episode: ep, t: 0, observation: obsToJson(obs) });
  }

  /** The env's render frame with integer ids. */
  private frame() {
    const f = this.env.renderFrame(this.frameHandles);
    return { ...f, ids: this.frameIntIds };
  }

  private foxSensors(obs: Observation, ns: bigint): void {
    const fox = this.fox!;
    const d = obs[OBS_DEPTH];
    if (fox.depth !== null && this.depthShape && d instanceof Float32Array) this.pushRaw(fox.depth, ns, rawDepthImage(d, this.depthShape[1], this.depthShape[0], ns));
    const st = obs[OBS_STATE];
    if (fox.joints !== null && st) this.pushRaw(fox.joints, ns, jointStates(st, this.joints, ns));
  }

  private recordStep(ep: number, t: number, action: Float32Array, r: StepResult): void {
    const env = this.env;
    const ts = this.episodeBaseNs + this.ns((t + 1) * env.ctrlDtSec);
    const reason = r.info.reason;
    const negativeZeros: number[] = [];
    for (let i = 0; i < action.length; i++) if (Object.is(action[i], -0)) negativeZeros.push(i);
    this.push('step', ts, {
      episode: ep, step: t, action: Array.from(action), ...(negativeZeros.length ? { negativeZeros } : {}), reward: r.reward, terminated: r.terminated, truncated: r.truncated,
      metrics: r.metrics, reason: typeof reason === 'string' ? reason : null, stateHash: env.stateHash(),
    });
    const frame = this.frame();
    this.push('frame', ts, { episode: ep, t: t + 1, frame });
    if (this.fox && this.foxScene) {
      this.pushRaw(this.fox.tf, ts, this.foxScene.transforms(frame, ts, false));
      const o = this.foxScene.overlays(frame, ts);
      if (o.entities.length > 0 || o.deletions.length > 0) this.pushRaw(this.fox.scene, ts, o);
      this.foxSensors(r.obs, ts);
    }
    if (this.withObs) this.push('observation', ts, { episode: ep, t: t + 1, observation: obsToJson(r.obs) });
  }

  private ns(sec: number): bigint {
    return BigInt(Math.round(sec * 1e9));
  }

  private push(topic: keyof typeof TOPICS, logTime: bigint, value: unknown): void {
    this.pushRaw(this.channels[topic], logTime, value);
  }

  private pushRaw(channelId: number, logTime: bigint, value: unknown): void {
    if (logTime > this.lastNs) this.lastNs = logTime;
    const data = this.enc.encode(JSON.stringify(value));
    this.writer.addMessage({ channelId, sequence: this.seq++, logTime, publishTime: logTime, data });
  }

  private mustBeOpen(): void {
    if (this.state !== 'open') throw new Error(`recorder: ${this.file} is ${this.state}`);
  }
}
