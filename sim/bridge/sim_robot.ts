/**
 * sim-robot: a rosbridge-v2-protocol WebSocket server backed by a Stride scene, to rehearse a deployment and to test
 * the bridge end to end.
 *
 * Every control period (the scene's ctrlDtSec, wall-clock paced) it steps the env with the latest command
 * (zero-order hold; the hold command before any arrives) and publishes `observation.state` as a
 * `sensor_msgs/JointState` (names = the feature's element names, values in `position`, stamp = wall time).
 * Commands arrive on the command topic as `std_msgs/Float64MultiArray`, `trajectory_msgs/JointTrajectory` or
 * `geometry_msgs/Twist` (chosen at start). When an episode ends, a `std_msgs/String` with the JSON episode summary is
 * published on the episode topic just before the final joint state; with autoreset the next tick starts episode
 * seed+1, else the robot rests (joint states keep streaming, unchanged) until `/stride/reset`. Other topics are
 * relayed between clients like rosbridge does (e.g. an e-stop `std_msgs/Bool`).
 *
 * Services (call_service): `/stride/reset {seed?}`, `/stride/info`, `/stride/stats {reset?}`,
 * `/stride/fault {stallSec}` (stop publishing observations for a while, the robot keeps stepping).
 *
 * Hardening: binds 127.0.0.1 unless told otherwise; with a token the client must send rosbridge's `auth` op
 * (rosauth MAC, see protocol.ts) before anything else; every frame is size-limited, parsed, schema-checked (op fields,
 * known message type, message structure, topic type consistency); anything wrong gets a `status` error op and is
 * dropped. No incoming message can throw out of a handler.
 */
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { AddressInfo } from 'node:net';
import { ACTION, OBS_STATE, featureSize, type FeatureSpec } from '../core/features.ts';
import { makeEnv } from '../core/registry.ts';
import type { SceneEnv } from '../core/scene_env.ts';
import {
  checkAuth, isKnownType, jointStateMsg, normalizeType, parseOp, twistValues, validateMsg, wallSec,
  type CommandType, type MsgType, type Op, type TwistField,
} from './protocol.ts';
import { Percentiles } from './stats.ts';

export interface SimRobotOptions {
  /** Scene id (see `stride scenes`); its `observation.state` is published, its `action` is commanded. */
  sceneId: string;
  /** Dotted-path scene config overrides (e.g. { ctrlDtSec: 0.01 }). */
  overrides?: Record<string, unknown>;
  /** Interface to bind; loopback by default. */
  host?: string;
  /** TCP port; 0 picks a free one (see `url` after `start()`). */
  port?: number;
  /** When set, clients must authenticate with rosbridge's `auth` op (rosauth MAC keyed by this token). */
  token?: string;
  /** Seed of the first episode; autoreset continues with seed+1, +2, … */
  seed?: number;
  /** Start the next episode by itself when one ends (else wait for `/stride/reset`). */
  autoreset?: boolean;
  /** Message type accepted on the command topic. */
  commandType?: CommandType;
  /** For `geometry_msgs/Twist` commands: which Twist field feeds each action element. */
  twistFields?: TwistField[];
  /** Topic names. */
  topics?: Partial<SimRobotTopics>;
  /** Frames larger than this (bytes) get a status error and are dropped. */
  maxMessageBytes?: number;
  /** Diagnostics sink (stderr in the CLI). */
  log?: (line: string) => void;
}

export interface SimRobotTopics {
  /** `sensor_msgs/JointState` carrying observation.state. */
  jointStates: string;
  /** Command topic (type = commandType). */
  command: string;
  /** `std_msgs/String` JSON episode summaries. */
  episode: string;
}

export const DEFAULT_TOPICS: SimRobotTopics = { jointStates: '/joint_states', command: '/command', episode: '/stride/episode' };

/** What the sim-robot measured from the robot's side of the wire (for `stride bench bridge`). */
export interface SimRobotStats {
  ticks: number;
  commands: number;
  /** Ticks at which the command answering the previous observation had not arrived (counted once commands flow). */
  missedDeadlines: number;
  /** Observation published → first command received, milliseconds. */
  latencyMs: { p50: number; p95: number; p99: number; max: number; n: number };
  /** Ticks that started more than one period late (the server itself fell behind). */
  lateTicks: number;
  rejected: number;
  episodes: number;
}

/** ROS graph resource names (absolute). */
const TOPIC_RE = /^\/[A-Za-z_][A-Za-z0-9_]*(\/[A-Za-z_][A-Za-z0-9_]*)*$/;
/** Distinct topics a server will track (bounded memory against hostile clients). */
const MAX_TOPICS = 256;

interface Client {
  ws: WebSocket;
  authed: boolean;
  /** topic → subscription ids */
  subs: Map<string, Set<string>>;
  adverts: Map<string, MsgType>;
}

interface EpisodeInfo { seed: number; steps: number; success: boolean; return: number; reason: string | null }

export class SimRobotServer {
  readonly env: SceneEnv;
  readonly topics: SimRobotTopics;
  readonly stateNames: string[];
  readonly actionNames: string[];
  readonly commandType: CommandType;
  readonly periodMs: number;
  private readonly opts: Required<Pick<SimRobotOptions, 'host' | 'port' | 'seed' | 'autoreset' | 'maxMessageBytes'>> & SimRobotOptions;
  private wss: WebSocketServer | null = null;
  private readonly clients = new Set<Client>();
  private readonly topicTypes = new Map<string, MsgType>();
  private readonly actionSize: number;
  private readonly holdAction: Float32Array;
  private command: Float32Array;
  private readonly twistFields: TwistField[];
  private timer: NodeJS.Timeout | null = null;
  private nextTickMs = 0;
  private episode: EpisodeInfo = { seed: 0, steps: 0, success: false, return: 0, reason: null };
  private episodeDone = false;
  private stallUntilMs = 0;
  private closed = false;
  // --- deadline bookkeeping ---
  private lastPublishMs = 0;
  private awaitingCommand = false;
  private commandsThisEpisode = 0;
  private lat = new Percentiles();
  private stats = { ticks: 0, commands: 0, missedDeadlines: 0, lateTicks: 0, rejected: 0, episodes: 0 };
  /** Test/diagnostic hook: called with every accepted command (action vector, arrival ms on the performance clock). */
  onCommand: ((action: Float32Array, atMs: number) => void) | null = null;

  constructor(options: SimRobotOptions) {
    this.opts = { host: '127.0.0.1', port: 0, seed: 0, autoreset: true, maxMessageBytes: 64 * 1024, ...options };
    this.env = makeEnv(options.sceneId, options.overrides ?? {});
    const s = this.env.observationFeatures[OBS_STATE];
    if (!s || s.dtype !== 'float32' || s.shape.length !== 1) {
      throw new Error(`sim-robot: scene ${options.sceneId} has no flat float32 '${OBS_STATE}' to publish as joint states`);
    }
    const a = this.env.actionFeatures[ACTION]!;
    this.stateNames = elementNames(s, 'state');
    this.actionNames = elementNames(a, 'a');
    this.actionSize = featureSize(a);
    this.holdAction = new Float32Array(this.actionSize);
    this.command = this.holdAction.slice();
    this.commandType = options.commandType ?? 'std_msgs/Float64MultiArray';
    this.twistFields = options.twistFields ?? (['linear.x', 'linear.y', 'linear.z', 'angular.x', 'angular.y', 'angular.z'] as TwistField[]).slice(0, this.actionSize);
    if (this.commandType === 'geometry_msgs/Twist' && this.twistFields.length !== this.actionSize) {
      throw new Error(`sim-robot: ${this.twistFields.length} twist fields for an action of ${this.actionSize} elements`);
    }
    this.topics = { ...DEFAULT_TOPICS, ...options.topics };
    this.topicTypes.set(this.topics.jointStates, 'sensor_msgs/JointState');
    this.topicTypes.set(this.topics.command, this.commandType);
    this.topicTypes.set(this.topics.episode, 'std_msgs/String');
    this.periodMs = this.env.ctrlDtSec * 1000;
  }

  /** ws://host:port once started. */
  get url(): string {
    const addr = this.wss?.address() as AddressInfo | undefined;
    if (!addr) throw new Error('sim-robot: not started');
    return `ws://${this.opts.host}:${addr.port}`;
  }

  async start(): Promise<void> {
    const wss = new WebSocketServer({
      host: this.opts.host, port: this.opts.port,
      // ws closes the connection above maxPayload; keep that far above our own limit so oversized frames normally get
      // a status error instead.
      maxPayload: Math.max(1 << 20, this.opts.maxMessageBytes * 16),
    });
    this.wss = wss;
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    wss.on('error', (e) => this.log(`server error: ${e.message}`));
    wss.on('connection', (ws) => this.onConnection(ws));
    this.resetEpisode(this.opts.seed);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const c of this.clients) c.ws.terminate();
    this.clients.clear();
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
    this.env.dispose();
  }

  /** Stop publishing observations for `sec` seconds (the robot keeps stepping): a sensor stall. */
  stall(sec: number): void {
    this.stallUntilMs = performance.now() + sec * 1000;
  }

  /** Connected clients (a client's frames have all been handled once its close has taken it off this count). */
  get clientCount(): number { return this.clients.size; }

  /** When the latest observation was published (performance.now() ms), for tests and diagnostics. */
  get lastPublishAtMs(): number { return this.lastPublishMs; }

  getStats(): SimRobotStats {
    return { ...this.stats, latencyMs: this.lat.summary() };
  }

  resetStats(): void {
    this.lat = new Percentiles();
    this.stats = { ticks: 0, commands: 0, missedDeadlines: 0, lateTicks: 0, rejected: 0, episodes: 0 };
  }

  // --- episode & tick loop ---

  private resetEpisode(seed: number): void {
    const { obs } = this.env.reset({ seed });
    this.lastObs = obs[OBS_STATE] as Float32Array;
    this.episode = { seed, steps: 0, success: false, return: 0, reason: null };
    this.episodeDone = false;
    this.command = this.holdAction.slice();
    this.commandsThisEpisode = 0;
    this.awaitingCommand = false;
    this.publishState(this.lastObs);
    this.schedule(performance.now() + this.periodMs);
  }

  /** observation.state of the latest reset/step (SceneEnv keeps no "current observation"). */
  private lastObs: Float32Array = new Float32Array(0);

  private schedule(atMs: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.nextTickMs = atMs;
    this.timer = setTimeout(() => this.tick(), Math.max(0, atMs - performance.now()));
  }

  private tick(): void {
    this.timer = null;
    if (this.closed) return;
    const now = performance.now();
    if (now - this.nextTickMs > this.periodMs) {
      this.stats.lateTicks++;
      this.nextTickMs = now; // fell behind: re-phase instead of bursting
    }
    try {
      if (this.episodeDone) {
        if (this.opts.autoreset) return this.resetEpisode(this.episode.seed + 1);
        // Idle until /stride/reset, but keep streaming the (frozen) joint states like a real robot at rest.
        this.publishState(this.lastObs);
        this.schedule(this.nextTickMs + this.periodMs);
        return;
      }
      if (this.awaitingCommand && this.commandsThisEpisode > 0) this.stats.missedDeadlines++;
      this.awaitingCommand = false;
      const r = this.env.step(this.command);
      this.stats.ticks++;
      this.episode.steps++;
      this.episode.return += r.reward;
      if (r.metrics.success) this.episode.success = true;
      this.lastObs = r.obs[OBS_STATE] as Float32Array;
      if (r.terminated || r.truncated) {
        this.episodeDone = true;
        this.episode.reason = String(r.info.reason ?? (r.terminated ? 'terminated' : 'time-limit'));
        this.stats.episodes++;
        this.publish(this.topics.episode, { data: JSON.stringify(this.episode) });
      }
      this.publishState(this.lastObs);
    } catch (e) {
      this.log(`sim-robot: step failed (${(e as Error).message}); resetting episode`);
      this.episodeDone = true;
    }
    this.schedule(this.nextTickMs + this.periodMs);
  }

  private publishState(state: Float32Array): void {
    if (performance.now() < this.stallUntilMs) return;
    this.publish(this.topics.jointStates, jointStateMsg(this.stateNames, state, wallSec()));
    this.lastPublishMs = performance.now();
    this.awaitingCommand = true;
  }

  // --- connections ---

  private onConnection(ws: WebSocket): void {
    const c: Client = { ws, authed: !this.opts.token, subs: new Map(), adverts: new Map() };
    this.clients.add(c);
    ws.on('message', (data, isBinary) => {
      try {
        this.onFrame(c, data, isBinary);
      } catch (e) {
        // Defence in depth: a handler bug must not take the robot down.
        this.reject(c, `internal error: ${(e as Error).message}`);
      }
    });
    ws.on('error', (e) => this.log(`client error: ${e.message}`));
    ws.on('close', () => this.clients.delete(c));
  }

  private onFrame(c: Client, data: RawData, isBinary: boolean): void {
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer | ArrayBuffer).byteLength;
    if (size > this.opts.maxMessageBytes) return this.reject(c, `message of ${size} bytes exceeds the ${this.opts.maxMessageBytes}-byte limit`);
    if (isBinary) return this.reject(c, 'binary frames are not supported (send JSON text)');
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    const parsed = parseOp(text);
    if ('error' in parsed) return this.reject(c, parsed.error, parsed.id);
    const op = parsed.op;
    if (!c.authed) {
      if (op.op !== 'auth') return this.reject(c, `authentication required: send the 'auth' op first`, op.id);
      const err = checkAuth(this.opts.token!, op, wallSec());
      if (err) {
        this.reject(c, err, op.id);
        c.ws.close(4001, 'authentication failed');
        return;
      }
      c.authed = true;
      this.send(c, { op: 'status', level: 'info', msg: 'authenticated' });
      return;
    }
    switch (op.op) {
      case 'auth': return; // already authenticated (or no token): ignore, like rosbridge
      case 'set_level': return;
      case 'advertise': return this.onAdvertise(c, op);
      case 'unadvertise': c.adverts.delete(op.topic as string); return;
      case 'subscribe': return this.onSubscribe(c, op);
      case 'unsubscribe': return this.onUnsubscribe(c, op);
      case 'publish': return this.onPublish(c, op);
      case 'call_service': return this.onService(c, op);
    }
  }

  private topicType(c: Client, topic: string, declared: unknown, op: Op): MsgType | null {
    if (!TOPIC_RE.test(topic)) {
      this.reject(c, `invalid topic name '${topic.slice(0, 80)}' (expected /name[/name…] of letters, digits, _)`, op.id);
      return null;
    }
    const known = this.topicTypes.get(topic);
    if (!known && this.topicTypes.size >= MAX_TOPICS) {
      this.reject(c, `too many topics (max ${MAX_TOPICS})`, op.id);
      return null;
    }
    if (declared === undefined || declared === '') {
      if (known) return known;
      this.reject(c, `topic '${topic}' has no type yet; give 'type'`, op.id);
      return null;
    }
    const t = normalizeType(declared);
    if (!t || !isKnownType(t)) {
      this.reject(c, `unsupported message type '${String(declared).slice(0, 80)}' for '${topic}'`, op.id);
      return null;
    }
    if (known && known !== t) {
      this.reject(c, `wrong message type for '${topic}': it is ${known}, not ${t}`, op.id);
      return null;
    }
    return t;
  }

  private onAdvertise(c: Client, op: Op): void {
    const topic = op.topic as string;
    const t = this.topicType(c, topic, op.type, op);
    if (!t) return;
    if (topic === this.topics.jointStates || topic === this.topics.episode) return this.reject(c, `'${topic}' is published by the robot`, op.id);
    this.topicTypes.set(topic, t);
    c.adverts.set(topic, t);
  }

  private onSubscribe(c: Client, op: Op): void {
    const topic = op.topic as string;
    const t = this.topicType(c, topic, op.type, op);
    if (!t) return;
    if (op.compression !== undefined && op.compression !== 'none') return this.reject(c, `compression '${op.compression}' is not supported (use 'none')`, op.id);
    this.topicTypes.set(topic, t);
    const ids = c.subs.get(topic) ?? new Set<string>();
    ids.add(op.id ?? '');
    c.subs.set(topic, ids);
  }

  private onUnsubscribe(c: Client, op: Op): void {
    const topic = op.topic as string;
    const ids = c.subs.get(topic);
    if (!ids) return;
    if (op.id !== undefined) ids.delete(op.id);
    if (op.id === undefined || ids.size === 0) c.subs.delete(topic);
  }

  private onPublish(c: Client, op: Op): void {
    const topic = op.topic as string;
    const t = c.adverts.get(topic) ?? this.topicTypes.get(topic);
    if (!t) return this.reject(c, `publish to '${topic}' before advertising it (no type known)`, op.id);
    const err = validateMsg(t, op.msg);
    if (err) return this.reject(c, `wrong message for '${topic}' (${t}): ${err}`, op.id);
    if (topic === this.topics.jointStates || topic === this.topics.episode) return this.reject(c, `'${topic}' is published by the robot`, op.id);
    if (topic === this.topics.command) {
      const a = this.toAction(op.msg as Record<string, unknown>);
      if (typeof a === 'string') return this.reject(c, `wrong command on '${topic}': ${a}`, op.id);
      const now = performance.now();
      this.command = a;
      this.stats.commands++;
      this.commandsThisEpisode++;
      if (this.awaitingCommand) {
        this.lat.add(now - this.lastPublishMs);
        this.awaitingCommand = false;
      }
      this.onCommand?.(a, now);
    }
    this.publish(topic, op.msg, c);
  }

  private toAction(msg: Record<string, unknown>): Float32Array | string {
    const n = this.actionSize;
    let v: number[];
    switch (this.commandType) {
      case 'std_msgs/Float64MultiArray':
        v = msg.data as number[];
        break;
      case 'trajectory_msgs/JointTrajectory': {
        const names = msg.joint_names as string[];
        const pos = (msg.points as { positions: number[] }[])[0]!.positions;
        const missing = this.actionNames.filter((x) => !names.includes(x));
        if (missing.length) return `joint_names lack ${missing.join(', ')} (robot joints: ${this.actionNames.join(', ')})`;
        v = this.actionNames.map((x) => pos[names.indexOf(x)]!);
        break;
      }
      case 'geometry_msgs/Twist':
        v = twistValues(this.twistFields, msg as { linear: Record<string, number>; angular: Record<string, number> }).map((x) => x ?? 0);
        break;
    }
    if (v.length !== n) return `${v.length} values, the robot takes ${n} (${this.actionNames.join(', ')})`;
    // Checked after the float32 cast: 1e300 is a finite float64 but Infinity as the float32 the env steps with.
    const a = Float32Array.from(v);
    const bad = a.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) return `${this.actionNames[bad]} = ${v[bad]} is not a finite float32 (|x| ≤ 3.4e38); command dropped`;
    return a;
  }

  private onService(c: Client, op: Op): void {
    const service = op.service as string;
    const args = (op.args ?? {}) as Record<string, unknown>;
    const reply = (values: unknown, result = true) => this.send(c, { op: 'service_response', id: op.id, service, values, result });
    switch (service) {
      case '/stride/reset': {
        const seed = args.seed ?? this.episode.seed + 1;
        if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0) return reply(`'seed' must be a non-negative integer`, false);
        // Reply first so the client can tell the old episode's messages (before the reply) from the new one's.
        reply({ ok: true, seed });
        this.resetEpisode(seed);
        return;
      }
      case '/stride/info':
        return reply({
          scene: this.env.id, ctrlDtSec: this.env.ctrlDtSec, jointNames: this.stateNames, actionNames: this.actionNames,
          commandType: this.commandType, topics: this.topics, seed: this.episode.seed,
        });
      case '/stride/stats': {
        const s = this.getStats();
        if (args.reset === true) this.resetStats();
        return reply(s);
      }
      case '/stride/fault': {
        const sec = args.stallSec;
        if (typeof sec !== 'number' || !(sec >= 0 && sec <= 3600)) return reply(`'stallSec' must be a number of seconds in [0, 3600]`, false);
        this.stall(sec);
        return reply({ ok: true });
      }
      default:
        return reply(`unknown service '${service.slice(0, 80)}' (sim-robot offers /stride/reset, /stride/info, /stride/stats, /stride/fault)`, false);
    }
  }

  // --- sending ---

  private publish(topic: string, msg: unknown, except?: Client): void {
    let frame: string | null = null;
    for (const c of this.clients) {
      if (c === except || !c.authed || !c.subs.has(topic)) continue;
      // A client that cannot keep up loses messages rather than growing our memory.
      if (c.ws.bufferedAmount > 4 << 20) continue;
      frame ??= JSON.stringify({ op: 'publish', topic, msg });
      c.ws.send(frame);
    }
  }

  private send(c: Client, m: unknown): void {
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify(m));
  }

  private reject(c: Client, msg: string, id?: string): void {
    this.stats.rejected++;
    this.send(c, id !== undefined ? { op: 'status', level: 'error', msg, id } : { op: 'status', level: 'error', msg });
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }
}

function elementNames(spec: FeatureSpec, prefix: string): string[] {
  const n = featureSize(spec);
  if (spec.names && spec.names.length === n) return [...spec.names];
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}
