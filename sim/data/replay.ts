/**
 * Reading and verifying MCAP recordings written by `EpisodeRecorder` (recorder.ts).
 *
 * `readRecording(file)` parses the whole file (CRCs checked; zstd chunks decompressed; formatVersion 1 and 2) into episodes of steps; a truncated, corrupt or non-MCAP
 * file is a one-line error `corrupt MCAP file <path>: <what>`.
 *
 * `verifyRecording(file)` re-creates the env with `makeEnv(sceneId, overrides)` (the scene must be registered —
 * import `scenes/index.ts` and `await initPhysics()` first), resets every episode with its seed, checks the initial
 * state hash (after restoring the episode's initial snapshot, for branches that start mid-episode), replays the recorded actions and compares the state hash after every step. It stops at the first
 * mismatch: `firstMismatch.step` is the 0-based index of the step whose hash differs, or −1 for the state right
 * after reset.
 */
import { readFileSync } from 'node:fs';
import { hasMcapPrefix, McapStreamReader } from '@mcap/core';
import * as zstd from '@foxglove/wasm-zstd';
import type { RenderFrame, RenderScene } from '../core/render.ts';
import type { EpisodeSummary } from '../core/rollout.ts';
import { makeEnv } from '../core/registry.ts';
import { engineVersion } from '../physics/index.ts';
import { RECORDING_FORMAT_VERSION, RECORDING_FORMAT_VERSIONS_READ, TOPICS, unpackArray, type PackedArray, type RecordingMetaMessage } from './recorder.ts';

export type RecordingMeta = RecordingMetaMessage;

export interface RecordedStep {
  /** 0-based index of the action in the episode. */
  step: number;
  action: number[];
  reward: number;
  terminated: boolean;
  truncated: boolean;
  metrics: Record<string, number>;
  reason: string | null;
  /** The render frame after the step. */
  frame: RenderFrame;
  /** The observation after the step (null if observations were not recorded). */
  obs: Record<string, number[]> | null;
  /** sha256 of the env snapshot after the step. */
  stateHash: string;
}

export interface RecordedEpisode {
  index: number;
  seed: number;
  options: Record<string, unknown> | null;
  scene: RenderScene;
  initialStateHash: string;
  /** base64 env snapshot the episode started from (branches recorded with `episodeHooksFromState`), else null. */
  initialSnapshot: string | null;
  initialFrame: RenderFrame;
  initialObs: Record<string, number[]> | null;
  steps: RecordedStep[];
  /** Null when the rollout stopped before the episode ended. */
  summary: EpisodeSummary | null;
}

export interface Recording {
  file: string;
  meta: RecordingMeta;
  episodes: RecordedEpisode[];
  /**
   * Set when the file ends without its footer (the writer was killed, e.g. `kill -9` during `--record`) and it was
   * read with `{ allowCut: true }`: the episodes hold everything up to the last complete record; a step whose frame
   * had not been written yet is dropped. `atByte` = where the readable part ends, `fileBytes` = the file's size,
   * `episode`/`step` = the last episode and the number of its steps that survived.
   */
  cut?: { atByte: number; fileBytes: number; episode: number; steps: number };
}

export interface VerifyResult {
  verified: boolean;
  /** Steps replayed and compared (up to and including the first mismatch). */
  steps: number;
  episodes: number;
  firstMismatch: null | { episode: number; step: number; expected: string; actual: string };
  /** The engine that wrote the recording and the one that replayed it. */
  engineVersion: { recorded: string; replayed: string };
  /** Where a cut recording (read with allowCut) ends; only the readable part was verified. */
  cut?: Recording['cut'];
}

/** Chunk decompressors for @mcap/core's readers (zstd; uncompressed chunks need none). */
export async function mcapDecompressHandlers(): Promise<Record<string, (buf: Uint8Array, size: bigint) => Uint8Array>> {
  await zstd.isLoaded;
  return { zstd: (buf, size) => zstd.decompress(buf, Number(size)) };
}

/** Parse a recording file. */
export async function readRecording(file: string, opts: { allowCut?: boolean } = {}): Promise<Recording> {
  const fail = (what: string): never => { throw new Error(`corrupt MCAP file ${file}: ${what}`); };
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `recording not found: ${file}` : `cannot read ${file}: ${code ?? (e as Error).message}`);
  }
  if (bytes.length === 0) fail('empty file');
  if (!hasMcapPrefix(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength))) fail('not an MCAP file (bad magic)');

  const reader = new McapStreamReader({ validateCrcs: true, decompressHandlers: await mcapDecompressHandlers() });
  const topicOf = new Map<number, string>();
  const dec = new TextDecoder();
  const messages: { topic: string; text: string }[] = [];
  try {
    reader.append(bytes);
    for (let rec; (rec = reader.nextRecord()); ) {
      if (rec.type === 'Channel') topicOf.set(rec.id, rec.topic);
      else if (rec.type === 'Message') {
        const topic = topicOf.get(rec.channelId);
        if (topic === undefined) fail(`message on unknown channel ${rec.channelId}`);
        messages.push({ topic: topic!, text: dec.decode(rec.data) });
      }
    }
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    if (msg.startsWith(`corrupt MCAP file ${file}`)) throw e;
    fail(msg);
  }
  let cutAt: number | null = null;
  if (!reader.done()) {
    if (!opts.allowCut) fail(`truncated (${reader.bytesRemaining()} bytes of an incomplete record at the end, no footer)`);
    cutAt = bytes.length - reader.bytesRemaining();
  }

  let meta: RecordingMeta | null = null;
  const episodes: RecordedEpisode[] = [];
  const epAt = (i: number, what: string): RecordedEpisode => {
    const ep = episodes[i];
    if (!ep) return fail(`${what} for episode ${i} before its ${TOPICS.scene} message`);
    return ep;
  };
  for (const [n, m] of messages.entries()) {
    let v: Record<string, unknown>;
    try { v = JSON.parse(m.text); } catch { return fail(`message ${n} on ${m.topic} is not valid JSON`); }
    switch (m.topic) {
      case TOPICS.meta:
        meta = v as unknown as RecordingMeta;
        break;
      case TOPICS.scene: {
        const i = v.episode as number;
        if (i !== episodes.length) fail(`episode ${i} starts out of order (expected ${episodes.length})`);
        episodes.push({
          index: i, seed: v.seed as number, options: (v.options as Record<string, unknown> | null) ?? null, scene: v.scene as RenderScene,
          initialStateHash: v.initialStateHash as string, initialSnapshot: (v.initialSnapshot as string | null) ?? null,
          initialFrame: null as unknown as RenderFrame, initialObs: null, steps: [], summary: null,
        });
        break;
      }
      case TOPICS.step: {
        const ep = epAt(v.episode as number, 'step');
        if (v.step !== ep.steps.length) fail(`episode ${ep.index}: step ${String(v.step)} out of order (expected ${ep.steps.length})`);
        const action = v.action as number[];
        // JSON writes -0 as 0; the recorder lists those elements so the replay applies the very action (format 2).
        if (Array.isArray(action) && Array.isArray(v.negativeZeros)) for (const i of v.negativeZeros as number[]) if (action[i] === 0) action[i] = -0;
        ep.steps.push({
          step: v.step as number, action, reward: v.reward as number, terminated: !!v.terminated, truncated: !!v.truncated,
          metrics: (v.metrics as Record<string, number>) ?? {}, reason: (v.reason as string | null) ?? null, frame: null as unknown as RenderFrame, obs: null,
          stateHash: v.stateHash as string,
        });
        break;
      }
      case TOPICS.frame:
      case TOPICS.observation: {
        const ep = epAt(v.episode as number, m.topic);
        const t = v.t as number;
        const isFrame = m.topic === TOPICS.frame;
        let payload = isFrame ? v.frame : v.observation;
        if (!isFrame) {
          try {
            payload = Object.fromEntries(Object.entries(payload as Record<string, number[] | PackedArray>).map(([k, a]) => [k, unpackArray(a)]));
          } catch {
            fail(`episode ${ep.index}: observation for t=${t} is malformed`);
          }
        }
        if (t === 0) {
          if (isFrame) ep.initialFrame = payload as RenderFrame; else ep.initialObs = payload as Record<string, number[]>;
        } else {
          const s = ep.steps[t - 1];
          if (!s) fail(`episode ${ep.index}: ${m.topic} for t=${t} before its step`);
          if (isFrame) s!.frame = payload as RenderFrame; else s!.obs = payload as Record<string, number[]>;
        }
        break;
      }
      case TOPICS.episode:
        epAt(v.episode as number, 'summary').summary = v.summary as EpisodeSummary;
        break;
      default:
        break; // other channels (e.g. Foxglove's) are ignored
    }
  }
  if (!meta && cutAt !== null) return fail(`truncated (no footer) before its first complete ${TOPICS.meta} record: nothing readable`);
  if (!meta) return fail(`no ${TOPICS.meta} message (not a Stride recording)`);
  let cut: Recording['cut'];
  if (cutAt !== null) {
    const last = episodes[episodes.length - 1];
    if (!last || !last.initialFrame) { if (last) episodes.pop(); }
    else while (last.steps.length && !last.steps[last.steps.length - 1]!.frame) last.steps.pop();
    const ep = episodes[episodes.length - 1];
    cut = { atByte: cutAt, fileBytes: bytes.length, episode: ep ? ep.index : -1, steps: ep ? ep.steps.length : 0 };
  }
  for (const ep of episodes) {
    if (!ep.initialFrame) fail(`episode ${ep.index} has no initial frame`);
    const missing = ep.steps.find((s) => !s.frame);
    if (missing) fail(`episode ${ep.index} step ${missing.step} has no frame`);
  }
  if (!RECORDING_FORMAT_VERSIONS_READ.includes(meta.formatVersion)) fail(`unsupported recording formatVersion ${String(meta.formatVersion)} (this build reads ${RECORDING_FORMAT_VERSIONS_READ.join(', ')}; writes ${RECORDING_FORMAT_VERSION})`);
  if (typeof meta.sceneId !== 'string') fail('meta has no sceneId');
  return { file, meta, episodes, ...(cut ? { cut } : {}) };
}

/** Re-simulate a recording and compare every step's state hash; `onProgress(stepsDone, stepsTotal, episode)` after every step. */
export async function verifyRecording(file: string, opts: { allowCut?: boolean; onProgress?(done: number, total: number, episode: number): void } = {}): Promise<VerifyResult> {
  const rec = await readRecording(file, opts);
  const total = rec.episodes.reduce((n, e) => n + e.steps.length, 0);
  const env = makeEnv(rec.meta.sceneId, rec.meta.overrides ?? {});
  let steps = 0;
  const result = (firstMismatch: VerifyResult['firstMismatch']): VerifyResult => ({
    verified: firstMismatch === null, steps, episodes: rec.episodes.length, firstMismatch,
    engineVersion: { recorded: rec.meta.engineVersion, replayed: engineVersion() },
    ...(rec.cut ? { cut: rec.cut } : {}),
  });
  try {
    for (const ep of rec.episodes) {
      env.reset({ seed: ep.seed, options: ep.options ?? undefined });
      if (ep.initialSnapshot) {
        try {
          env.restore(new Uint8Array(Buffer.from(ep.initialSnapshot, 'base64')));
        } catch (e) {
          throw new Error(`corrupt MCAP file ${file}: episode ${ep.index} initial snapshot: ${(e as Error).message}`);
        }
      }
      const h0 = env.stateHash();
      if (h0 !== ep.initialStateHash) return result({ episode: ep.index, step: -1, expected: ep.initialStateHash, actual: h0 });
      for (const s of ep.steps) {
        if (!Array.isArray(s.action)) throw new Error(`corrupt MCAP file ${file}: episode ${ep.index} step ${s.step} has no action`);
        env.step(Float32Array.from(s.action));
        steps++;
        opts.onProgress?.(steps, total, ep.index);
        const h = env.stateHash();
        if (h !== s.stateHash) return result({ episode: ep.index, step: s.step, expected: s.stateHash, actual: h });
      }
    }
    return result(null);
  } finally {
    env.dispose();
  }
}
