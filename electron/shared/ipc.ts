/**
 * The ONE IPC contract between the viewer's UI (renderer) and its host (Electron main process, or the Node web server
 * in `--web` mode). Every request channel has a payload schema here; the host validates every payload against it
 * before acting (Electron `ipcMain.handle`, and the web mode's WebSocket messages use the same table).
 *
 * The schemas are zod strict objects (see sim/core/schema.ts for why zod): unknown keys — prototype names such as
 * `__proto__` or `constructor` included — are refused, numbers must be finite, strings and arrays are bounded, and the
 * TypeScript payload types are inferred from the schemas, so the table is the single source of truth.
 *
 * This file is imported by both sides (Node and browser): no Node imports here.
 */
import type { Overlay, RenderFrame, RenderScene } from '../../sim/core/render.ts';
import { checkWith, z } from '../../sim/core/schema.ts';


// --- the table -----------------------------------------------------------------------------------------------------

/** A bounded string, optionally of a given format. */
const str = (maxLen = 4096, pattern?: RegExp) => (pattern ? z.string().max(maxLen).regex(pattern) : z.string().max(maxLen));
/** A policy spec: 'expert' | 'random' | 'zero' | a run or checkpoint directory. */
const policySpec = str(1024);
const filePath = str(4096);
const seed = z.int().min(0).max(2 ** 31 - 1);
const speed = z.number().min(0.05).max(20);
/** Per-call act options of the live policy (sim/core/policy.ts ActOptions). */
const actOptions = z.strictObject({
  goal: z.array(z.number()).max(64).optional(),
  intent: z.int().min(0).max(1024).optional(),
  guidance: z.number().min(0).max(100).optional(),
  steps: z.int().min(1).max(1000).optional(),
});
/**
 * Scene overrides in the CLI's `--set key=value` form (dotted config path, value parsed like the CLI). The scene's
 * config validates paths and types; `__proto__`/`constructor`/`prototype` segments are refused before that.
 */
const setList = z.array(str(1100, /^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*=[^\n]*$/)).max(64);

/** Request channels: renderer → host. `req` is the payload schema (always a strict object). */
export const IPC = {
  /** What the window should show first (file given on the command line, run to follow, scenes, policies). */
  'app:init': { req: z.strictObject({}) },
  /** Open an MCAP recording; returns its meta and episode list (no frames). */
  'recording:open': { req: z.strictObject({ file: str(4096, /\.mcap$/i) }) },
  /** All steps of one episode of the open recording. */
  'recording:episode': { req: z.strictObject({ episode: z.int().min(0).max(1e6) }) },
  /** Start a live session: scene × policy from `seed`. Frames then arrive as 'live:frame' events. */
  'live:start': {
    req: z.strictObject({ sceneId: str(200, /^[\w/.-]+$/), policy: policySpec, seed, speed: speed.optional(), set: setList.optional(), act: actOptions.optional() }),
  },
  /**
   * Change the running live session without a reset: merge act options (`act`) or drop some (`clear`; intent
   * 'none' = clear ['intent']), change scene config (`set`: live paths in place, any other path restarts the episode
   * on the same seed and the reply says so), drag the task's target (`steer`, world metres), switch the policy
   * overlays (`overlays`) and the sensor insets (`sensors`).
   */
  'live:command': {
    req: z.strictObject({
      act: actOptions.optional(),
      clear: z.array(z.enum(['goal', 'intent', 'guidance', 'steps'])).max(4).optional(),
      set: setList.optional(),
      steer: z.array(z.number().min(-1e4).max(1e4)).max(3).optional(),
      overlays: z.boolean().optional(),
      sensors: z.boolean().optional(),
    }),
  },
  /** Reset the live session with a new seed (same scene and policy). */
  'live:reset': { req: z.strictObject({ seed }) },
  'live:pause': { req: z.strictObject({ paused: z.boolean() }) },
  'live:stop': { req: z.strictObject({}) },
  /**
   * Fork the open recording at (episode, step): re-simulate its actions up to `step`, check the state hash against
   * the recording's, then continue live with another policy/goal/intent/guidance, recorded to a new MCAP whose meta
   * references the parent.
   */
  'fork:start': {
    req: z.strictObject({
      episode: z.int().min(0).max(1e6),
      step: z.int().min(0).max(1e7),
      policy: policySpec,
      goal: z.array(z.number()).max(64).optional(),
      intent: z.int().min(0).max(1024).optional(),
      guidance: z.number().min(0).max(100).optional(),
      seed: seed.optional(),
      speed: speed.optional(),
    }),
  },
  /** Rows of a training run's metrics.jsonl from line `fromLine` on (poll to follow a run live). */
  'run:metrics': { req: z.strictObject({ run: filePath, fromLine: z.int().min(0).optional() }) },
  /** Every results/*.json of the project (or of `dir`). */
  'results:list': { req: z.strictObject({ dir: filePath.optional() }) },
} as const;

export type Channel = keyof typeof IPC;
export type Req<C extends Channel> = z.infer<(typeof IPC)[C]['req']>;

export const CHANNELS = Object.keys(IPC) as Channel[];

/** Validate a (channel, payload) pair from an untrusted sender. Throws a one-line Error when malformed. */
export function validateRequest(channel: unknown, payload: unknown): { channel: Channel; payload: unknown } {
  if (typeof channel !== 'string' || !Object.prototype.hasOwnProperty.call(IPC, channel)) {
    throw new Error(`unknown IPC channel '${String(channel).slice(0, 80)}'`);
  }
  const err = checkWith(IPC[channel as Channel].req, payload, 'payload');
  if (err) throw new Error(`${channel}: ${err}`);
  return { channel: channel as Channel, payload };
}

// --- responses (host → renderer) ------------------------------------------------------------------------------------

/** Act options as the host passed them to the policy (JSON form). */
export interface ActReport { goal?: number[]; intent?: number; guidance?: number; steps?: number }

/** The live session's sensor readings for the insets (only sent while the insets are on). */
export interface SensorInset {
  /** Depth image, row-major from the top-left, quantised to 0–255 over [0, maxRangeM]; null when the scene has none. */
  depth: { widthPx: number; heightPx: number; maxRangeM: number; grey: number[]; blank: boolean } | null;
  /** Tactile readings (N) with their names; null when the scene has none. */
  tactile: { names: string[]; valuesN: number[] } | null;
}

export interface SceneInfo { id: string; family: string; description: string; hasExpert: boolean; ctrlDtSec: number }

export interface RecordingStep {
  step: number;
  action: number[];
  reward: number;
  metrics: Record<string, number>;
  frame: RenderFrame;
  stateHash: string;
}

export interface RecordingInfo {
  file: string;
  meta: { sceneId: string; overrides: Record<string, unknown>; engineVersion: string; policy: string; command: string; parent?: { file: string; episode: number; step: number } };
  ctrlDtSec: number;
  episodes: { index: number; seed: number; length: number; return: number; success: boolean; reason: string }[];
}

export interface EpisodeData { episode: number; seed: number; scene: RenderScene; steps: RecordingStep[] }

export interface ForkResult {
  /** The recording's state hash at `step`. */
  parentHash: string;
  /** The re-simulated state's hash at `step`: the branch's first state. */
  branchHash: string;
  match: boolean;
  /** The branch's MCAP file. */
  file: string;
  parent: { file: string; episode: number; step: number };
}

export interface Responses {
  /** `runs`: run directories under runs/ that have a metrics.jsonl (the Training page's compare list). */
  'app:init': { mode: 'electron' | 'web'; file: string | null; run: string | null; scenes: SceneInfo[]; policies: string[]; runs: string[]; cwd: string };
  'recording:open': RecordingInfo;
  'recording:episode': EpisodeData;
  'live:start': { sceneId: string; policy: string; seed: number; ctrlDtSec: number };
  'live:reset': { seed: number };
  'live:command': { act: ActReport; restarted: boolean; applied: string[]; overrides: Record<string, unknown>; steerTarget: [number, number, number] | null; overlays: boolean; sensors: boolean; message: string };
  'live:pause': { paused: boolean };
  'live:stop': { stopped: boolean };
  'fork:start': ForkResult;
  'run:metrics': { run: string; rows: Record<string, unknown>[]; nextLine: number; exists: boolean };
  'results:list': { dir: string; files: { name: string; data: unknown }[] };
}

/** Events pushed host → renderer (not requests; the renderer only listens). */
export interface Events {
  /** A new episode started in the live session: draw this scene. */
  'live:scene': {
    scene: RenderScene; sceneId: string; policy: string; seed: number; ctrlDtSec: number; branchOf?: { file: string; episode: number; step: number };
    /** Scene overrides in force, config paths changeable in place, shift paths, whether the target can be dragged. */
    overrides: Record<string, unknown>; liveConfig: string[]; shifts: Record<string, number>; steerable: boolean;
    /** Which insets the scene can show. */
    sensors: { depth: boolean; tactile: boolean };
  };
  /**
   * One control step. `sentAtMs` = wall clock (Date.now) when the sim produced it, for the sim→draw delay. `act` = the
   * act options the policy received for this step; `debug` = the policy's overlays (when on); `steer` = the task's
   * target (steerable scenes); `sensors` = inset readings (when on).
   */
  'live:frame': {
    frame: RenderFrame; reward: number; metrics: Record<string, number>; seq: number; sentAtMs: number;
    act: ActReport; debug?: Overlay[]; steer?: [number, number, number] | null; sensors?: SensorInset;
  };
  'live:ended': { seed: number; return: number; length: number; success: boolean; reason: string; file?: string };
  'live:error': { message: string };
  /** Electron menu: File → Open recording… chose this file. */
  'app:open': { file: string };
}
export type EventName = keyof Events;

/** The narrow API the preload script exposes as `window.stride` (and the web transport implements). */
export interface StrideApi {
  invoke<C extends Channel>(channel: C, payload: Req<C>): Promise<Responses[C]>;
  on<E extends EventName>(event: E, listener: (data: Events[E]) => void): () => void;
}

/** Web mode wire format (one JSON text message each). */
export type WsClientMessage = { id: number; channel: Channel; payload: unknown };
export type WsServerMessage =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string }
  | { event: EventName; data: unknown };

/** The largest web-mode message accepted (bytes); the server's WebSocket `maxPayload` is the same number. */
export const MAX_WS_MESSAGE_BYTES = 1_000_000;

/** The web-mode envelope: the payload is checked against its channel's schema afterwards. */
const WsEnvelope = z.strictObject({ id: z.int().min(0).max(Number.MAX_SAFE_INTEGER), channel: z.unknown(), payload: z.unknown() });

/** Validate a web-mode client message envelope and its payload. */
export function validateWsMessage(raw: string): WsClientMessage {
  if (raw.length > MAX_WS_MESSAGE_BYTES) throw new Error('message too large');
  let m: unknown;
  try { m = JSON.parse(raw); } catch { throw new Error('message is not valid JSON'); }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new Error('message must be an object');
  const e = checkWith(WsEnvelope, m, 'message');
  if (e) throw new Error(e.replace(/^message\.id must be.*/, 'message.id must be a non-negative integer'));
  const rec = m as { id: number; channel: unknown; payload: unknown };
  const { channel, payload } = validateRequest(rec.channel, rec.payload);
  return { id: rec.id, channel, payload };
}

export type { Overlay, RenderFrame, RenderScene };
