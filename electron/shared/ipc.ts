/**
 * The ONE IPC contract between the viewer's UI (renderer) and its host (Electron main process, or the Node web server
 * in `--web` mode). Every request channel has a payload schema here; the host validates every payload against it
 * before acting (Electron `ipcMain.handle`, and the web mode's WebSocket messages use the same table).
 *
 * The schema language is deliberately tiny (string / number / boolean / enum / array / object / optional) and the
 * TypeScript payload types are inferred from it, so the table is the single source of truth.
 *
 * This file is imported by both sides (Node and browser): no Node imports here.
 */
import type { Overlay, RenderFrame, RenderScene } from '../../sim/core/render.ts';

// --- schema language ---------------------------------------------------------------------------------------------

export type Schema =
  | { t: 'string'; maxLen: number; pattern?: RegExp }
  | { t: 'number'; int?: boolean; min?: number; max?: number }
  | { t: 'boolean' }
  | { t: 'enum'; values: readonly string[] }
  | { t: 'array'; of: Schema; maxLen: number }
  | { t: 'object'; props: Readonly<Record<string, Schema>>; optional: readonly string[] };

export const str = (maxLen = 4096, pattern?: RegExp) => ({ t: 'string', maxLen, pattern }) as const;
export const num = (o: { int?: boolean; min?: number; max?: number } = {}) => ({ t: 'number', ...o }) as const;
export const bool = () => ({ t: 'boolean' }) as const;
export const oneOf = <V extends readonly string[]>(...values: V) => ({ t: 'enum', values }) as const;
export const arr = <S extends Schema>(of: S, maxLen = 1024) => ({ t: 'array', of, maxLen }) as const;
export const obj = <P extends Record<string, Schema>, O extends keyof P & string = never>(props: P, optional: readonly O[] = []) =>
  ({ t: 'object', props, optional }) as { t: 'object'; props: P; optional: readonly O[] };

/** The TypeScript type a schema accepts. */
export type Infer<S> =
  S extends { t: 'string' } ? string
    : S extends { t: 'number' } ? number
      : S extends { t: 'boolean' } ? boolean
        : S extends { t: 'enum'; values: readonly (infer V)[] } ? V
          : S extends { t: 'array'; of: infer E } ? Infer<E>[]
            : S extends { t: 'object'; props: infer P; optional: readonly (infer O)[] }
              ? { [K in Exclude<keyof P, O>]: Infer<P[K]> } & { [K in Extract<keyof P, O>]?: Infer<P[K]> }
              : never;

/** Check `value` against `schema`; returns null when valid, else a one-line reason naming the offending path. */
export function checkSchema(schema: Schema, value: unknown, path = 'payload'): string | null {
  switch (schema.t) {
    case 'string':
      if (typeof value !== 'string') return `${path} must be a string`;
      if (value.length > schema.maxLen) return `${path} is longer than ${schema.maxLen} characters`;
      if (schema.pattern && !schema.pattern.test(value)) return `${path} has an invalid format`;
      return null;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return `${path} must be a finite number`;
      if (schema.int && !Number.isInteger(value)) return `${path} must be an integer`;
      if (schema.min !== undefined && value < schema.min) return `${path} must be ≥ ${schema.min}`;
      if (schema.max !== undefined && value > schema.max) return `${path} must be ≤ ${schema.max}`;
      return null;
    case 'boolean':
      return typeof value === 'boolean' ? null : `${path} must be a boolean`;
    case 'enum':
      return typeof value === 'string' && schema.values.includes(value) ? null : `${path} must be one of ${schema.values.join(', ')}`;
    case 'array': {
      if (!Array.isArray(value)) return `${path} must be an array`;
      if (value.length > schema.maxLen) return `${path} has more than ${schema.maxLen} elements`;
      for (let i = 0; i < value.length; i++) {
        const e = checkSchema(schema.of, value[i], `${path}[${i}]`);
        if (e) return e;
      }
      return null;
    }
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${path} must be an object`;
      const rec = value as Record<string, unknown>;
      for (const k of Object.keys(rec)) if (!(k in schema.props)) return `${path}.${k} is not an allowed field`;
      for (const [k, s] of Object.entries(schema.props)) {
        if (rec[k] === undefined) {
          if (schema.optional.includes(k)) continue;
          return `${path}.${k} is required`;
        }
        const e = checkSchema(s, rec[k], `${path}.${k}`);
        if (e) return e;
      }
      return null;
    }
  }
}

// --- the table -----------------------------------------------------------------------------------------------------

/** A policy spec: 'expert' | 'random' | 'zero' | a run or checkpoint directory. */
const policySpec = str(1024);
const filePath = str(4096);
const seed = num({ int: true, min: 0, max: 2 ** 31 - 1 });
/** Per-call act options of the live policy (sim/core/policy.ts ActOptions). */
const actOptions = obj({
  goal: arr(num(), 64),
  intent: num({ int: true, min: 0, max: 1024 }),
  guidance: num({ min: 0, max: 100 }),
  steps: num({ int: true, min: 1, max: 1000 }),
}, ['goal', 'intent', 'guidance', 'steps']);
/**
 * Scene overrides in the CLI's `--set key=value` form (dotted config path, value parsed like the CLI). The scene's
 * config validates paths and types; `__proto__`/`constructor`/`prototype` segments are refused before that.
 */
const setList = arr(str(1100, /^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*=[^\n]*$/), 64);

/** Request channels: renderer → host. `req` is the payload schema. */
export const IPC = {
  /** What the window should show first (file given on the command line, run to follow, scenes, policies). */
  'app:init': { req: obj({}) },
  /** Open an MCAP recording; returns its meta and episode list (no frames). */
  'recording:open': { req: obj({ file: str(4096, /\.mcap$/i) }) },
  /** All steps of one episode of the open recording. */
  'recording:episode': { req: obj({ episode: num({ int: true, min: 0, max: 1e6 }) }) },
  /** Start a live session: scene × policy from `seed`. Frames then arrive as 'live:frame' events. */
  'live:start': {
    req: obj({ sceneId: str(200, /^[\w/.-]+$/), policy: policySpec, seed, speed: num({ min: 0.05, max: 20 }), set: setList, act: actOptions },
      ['speed', 'set', 'act']),
  },
  /**
   * Change the running live session without a reset: merge act options (`act`) or drop some (`clear`; intent
   * 'none' = clear ['intent']), change scene config (`set`: live paths in place, any other path restarts the episode
   * on the same seed and the reply says so), drag the task's target (`steer`, world metres), switch the policy
   * overlays (`overlays`) and the sensor insets (`sensors`).
   */
  'live:command': {
    req: obj({
      act: actOptions,
      clear: arr(oneOf('goal', 'intent', 'guidance', 'steps'), 4),
      set: setList,
      steer: arr(num({ min: -1e4, max: 1e4 }), 3),
      overlays: bool(),
      sensors: bool(),
    }, ['act', 'clear', 'set', 'steer', 'overlays', 'sensors']),
  },
  /** Reset the live session with a new seed (same scene and policy). */
  'live:reset': { req: obj({ seed }) },
  'live:pause': { req: obj({ paused: bool() }) },
  'live:stop': { req: obj({}) },
  /**
   * Fork the open recording at (episode, step): re-simulate its actions up to `step`, check the state hash against
   * the recording's, then continue live with another policy/goal/intent/guidance, recorded to a new MCAP whose meta
   * references the parent.
   */
  'fork:start': {
    req: obj({
      episode: num({ int: true, min: 0, max: 1e6 }),
      step: num({ int: true, min: 0, max: 1e7 }),
      policy: policySpec,
      goal: arr(num(), 64),
      intent: num({ int: true, min: 0, max: 1024 }),
      guidance: num({ min: 0, max: 100 }),
      seed,
      speed: num({ min: 0.05, max: 20 }),
    }, ['goal', 'intent', 'guidance', 'seed', 'speed']),
  },
  /** Rows of a training run's metrics.jsonl from line `fromLine` on (poll to follow a run live). */
  'run:metrics': { req: obj({ run: filePath, fromLine: num({ int: true, min: 0 }) }, ['fromLine']) },
  /** Every results/*.json of the project (or of `dir`). */
  'results:list': { req: obj({ dir: filePath }, ['dir']) },
} as const;

export type Channel = keyof typeof IPC;
export type Req<C extends Channel> = Infer<(typeof IPC)[C]['req']>;

export const CHANNELS = Object.keys(IPC) as Channel[];

/** Validate a (channel, payload) pair from an untrusted sender. Throws a one-line Error when malformed. */
export function validateRequest(channel: unknown, payload: unknown): { channel: Channel; payload: unknown } {
  if (typeof channel !== 'string' || !Object.prototype.hasOwnProperty.call(IPC, channel)) {
    throw new Error(`unknown IPC channel '${String(channel).slice(0, 80)}'`);
  }
  const err = checkSchema(IPC[channel as Channel].req as Schema, payload);
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

/** Validate a web-mode client message envelope and its payload. */
export function validateWsMessage(raw: string): WsClientMessage {
  if (raw.length > 1_000_000) throw new Error('message too large');
  let m: unknown;
  try { m = JSON.parse(raw); } catch { throw new Error('message is not valid JSON'); }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new Error('message must be an object');
  const rec = m as Record<string, unknown>;
  for (const k of Object.keys(rec)) if (k !== 'id' && k !== 'channel' && k !== 'payload') throw new Error(`message.${k} is not an allowed field`);
  if (typeof rec.id !== 'number' || !Number.isInteger(rec.id) || rec.id < 0) throw new Error('message.id must be a non-negative integer');
  const { channel, payload } = validateRequest(rec.channel, rec.payload);
  return { id: rec.id, channel, payload };
}

export type { Overlay, RenderFrame, RenderScene };
