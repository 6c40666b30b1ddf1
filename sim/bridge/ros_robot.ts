/**
 * RosbridgeRobot: a Robot over rosbridge v2 with the standard `roslib` client (ESM; in Node it uses `ws`).
 * Observation topics are assembled into `observation.state` by the robot config's mapping; commands go out as
 * Float64MultiArray / JointTrajectory / Twist. Every incoming message is checked before use; the first observation
 * is checked against the config's joint names (a mismatch refuses to start); status errors from the robot about our
 * commands are fatal (they mean the robot does not accept what we send).
 */
import { Ros, Topic, Service, WebSocketTransportFactory, type ITransport } from './roslib.ts';
import { ACTION, OBS_STATE, type Features } from '../core/features.ts';
import {
  float64MultiArrayMsg, jointTrajectoryMsg, makeAuth, rosTimeToSec, twistMsg, validateMsg, wallSec,
} from './protocol.ts';
import type { RobotConfig } from './robot_config.ts';
import { EstopError, StallError, monoSec, type EpisodeEnd, type Robot, type TimedObservation } from './robot.ts';

export interface RosbridgeRobotOptions {
  /** ws://host:port of the rosbridge server. */
  url: string;
  /** Shared secret for rosbridge's auth op (rosauth MAC), when the server requires it. */
  token?: string;
  /** How long connect() waits for the socket, the auth answer and the first observation, seconds. */
  connectTimeoutSec?: number;
  log?: (line: string) => void;
}

interface Waiter { resolve: (o: TimedObservation) => void; reject: (e: Error) => void; timer: NodeJS.Timeout | null }

export class RosbridgeRobot implements Robot {
  readonly observationFeatures: Features;
  readonly actionFeatures: Features;
  private ros: Ros | null = null;
  private commandTopic: Topic<unknown> | null = null;
  private readonly parts: (Float32Array | null)[];
  private readonly indexCache: (number[] | null)[];
  private cacheKeys: (string | null)[];
  private latest: TimedObservation | null = null;
  private lastReturnedSeq = 0;
  private seq = 0;
  private pendingEpisodeEnd: EpisodeEnd | null = null;
  private waiter: Waiter | null = null;
  private fatal: Error | null = null;
  private estopped = false;
  /** Status errors the robot sent back (count and last message), for the report. */
  robotErrors = 0;
  lastRobotError = '';
  /** Called when the e-stop fires (before pending getObservation calls reject). */
  onEstop: (() => void) | null = null;

  constructor(readonly cfg: RobotConfig, private readonly opts: RosbridgeRobotOptions) {
    const stateNames = cfg.observation.flatMap((o) => o.as ?? o.names);
    this.observationFeatures = { [OBS_STATE]: { kind: 'state', shape: [stateNames.length], dtype: 'float32', names: stateNames } };
    this.actionFeatures = { [ACTION]: { kind: 'action', shape: [cfg.command.names.length], dtype: 'float32', names: cfg.command.names } };
    this.parts = cfg.observation.map(() => null);
    this.indexCache = cfg.observation.map(() => null);
    this.cacheKeys = cfg.observation.map(() => null);
  }

  get supportsEpisodes(): boolean { return !!this.cfg.episode; }

  async connect(signal?: AbortSignal): Promise<void> {
    const timeoutMs = (this.opts.connectTimeoutSec ?? 5) * 1000;
    // Wrap the standard transport to see every status op (roslib routes id'd ones to per-id events).
    const transportFactory = async (url: string): Promise<ITransport> => {
      const t = await WebSocketTransportFactory(url);
      t.on('message', (m) => this.onStatus(m as unknown as Record<string, unknown>));
      return t;
    };
    const ros = new Ros({ transportFactory });
    this.ros = ros;
    const opened = new Promise<void>((resolve, reject) => {
      ros.once('connection', () => resolve());
      ros.once('error', () => reject(new Error(`cannot connect to ${this.opts.url}`)));
      ros.once('close', () => reject(new Error(`connection to ${this.opts.url} closed`)));
    });
    await withTimeout(ros.connect(this.opts.url).then(() => opened), timeoutMs, `connecting to ${this.opts.url}`, signal);
    ros.on('close', () => this.setFatal(new Error('connection to the robot closed')));
    ros.on('error', () => this.setFatal(new Error('connection to the robot failed')));

    if (this.opts.token) {
      const answer = new Promise<void>((resolve, reject) => {
        this.authWaiter = { resolve, reject };
      });
      const a = makeAuth(this.opts.token);
      ros.authenticate(a.mac, a.client, a.dest, a.rand, a.t, a.level, a.end);
      await withTimeout(answer, timeoutMs, 'waiting for the authentication answer', signal);
    }

    this.cfg.observation.forEach((src, i) => {
      const topic = new Topic<unknown>({ ros, name: src.topic, messageType: src.type, reconnect_on_close: false });
      topic.subscribe((m) => this.onObsPart(i, m));
    });
    if (this.cfg.estopTopic) {
      const type = this.cfg.estopType ?? 'std_msgs/Bool';
      const t = new Topic<unknown>({ ros, name: this.cfg.estopTopic, messageType: type, reconnect_on_close: false });
      t.subscribe((m) => {
        const data = (m as { data?: unknown })?.data;
        if (type === 'std_msgs/Empty' || data === true) this.triggerEstop();
      });
    }
    if (this.cfg.episode) {
      const t = new Topic<unknown>({ ros, name: this.cfg.episode.statusTopic, messageType: 'std_msgs/String', reconnect_on_close: false });
      t.subscribe((m) => this.onEpisodeStatus(m));
    }
    this.commandTopic = new Topic<unknown>({ ros, name: this.cfg.command.topic, messageType: this.cfg.command.type, reconnect_on_close: false });
    this.commandTopic.advertise();
    // The first observation proves the stream and carries the robot's joint names (checked in onObsPart).
    const first = await withTimeout(this.getObservation(timeoutMs / 1000), timeoutMs, 'waiting for the first observation', signal);
    this.lastReturnedSeq = first.seq - 1; // let the control loop see it
  }

  private authWaiter: { resolve: () => void; reject: (e: Error) => void } | null = null;

  private onStatus(m: Record<string, unknown>): void {
    if (m?.op !== 'status') return;
    const msg = String(m.msg ?? '');
    if (this.authWaiter) {
      if (m.level === 'info' && msg === 'authenticated') { this.authWaiter.resolve(); this.authWaiter = null; return; }
      if (m.level === 'error' && msg.startsWith('authentication')) { this.authWaiter.reject(new Error(`robot rejected the token (${msg})`)); this.authWaiter = null; return; }
    }
    if (m.level !== 'error') return;
    this.robotErrors++;
    this.lastRobotError = msg;
    this.opts.log?.(`robot status error: ${msg}`);
    const id = typeof m.id === 'string' ? m.id : '';
    if (id.startsWith(`publish:${this.cfg.command.topic}:`) || id.startsWith(`advertise:${this.cfg.command.topic}:`)) {
      this.setFatal(new Error(`the robot rejects our commands: ${msg}`));
    }
  }

  private onEpisodeStatus(m: unknown): void {
    const err = validateMsg('std_msgs/String', m);
    if (err) return;
    try {
      const e = JSON.parse((m as { data: string }).data) as EpisodeEnd;
      if (typeof e.success === 'boolean') this.pendingEpisodeEnd = e;
    } catch { /* not ours */ }
  }

  private onObsPart(i: number, m: unknown): void {
    const src = this.cfg.observation[i]!;
    const err = validateMsg(src.type, m);
    if (err) { this.opts.log?.(`dropped malformed ${src.type} on ${src.topic}: ${err}`); return; }
    const msg = m as Record<string, unknown>;
    let values: Float32Array;
    if (src.type === 'sensor_msgs/JointState') {
      const names = msg.name as string[];
      const key = names.join('\u0000');
      if (this.cacheKeys[i] !== key) {
        const missing = src.names.filter((n) => !names.includes(n));
        if (missing.length) {
          return this.setFatal(new Error(`joint-name mismatch on ${src.topic}: the robot advertises [${names.join(', ')}], the policy needs [${src.names.join(', ')}] (missing: ${missing.join(', ')})`));
        }
        this.indexCache[i] = src.names.map((n) => names.indexOf(n));
        this.cacheKeys[i] = key;
      }
      const field = msg[src.field] as number[];
      if (field.length !== names.length) return this.setFatal(new Error(`${src.topic}: JointState.${src.field} is empty; the config reads it`));
      values = Float32Array.from(this.indexCache[i]!, (j) => field[j]!);
    } else {
      const data = msg.data as number[];
      if (data.length !== src.names.length) return this.setFatal(new Error(`${src.topic}: Float64MultiArray has ${data.length} values, the config maps ${src.names.length}`));
      values = Float32Array.from(data);
    }
    this.parts[i] = values;
    if (i !== 0) return; // the first source paces the loop
    // Other sources on the pacing topic (e.g. JointState positions and velocities) get this same message in their own
    // subscriptions right after this one: assemble once they have it, not from their previous message.
    if (this.cfg.observation.some((o, k) => k > 0 && o.topic === src.topic)) queueMicrotask(() => this.assemble(msg));
    else this.assemble(msg);
  }

  /** Join the latest part of every source into observation.state (on each message of the pacing source). */
  private assemble(msg: Record<string, unknown>): void {
    if (this.parts.some((p) => p === null)) return;
    const values = this.parts[0]!;
    const state = this.parts.length === 1 ? values : concat(this.parts as Float32Array[]);
    const header = msg.header as { stamp?: unknown } | undefined;
    const stamp = header?.stamp !== undefined ? rosTimeToSec(header.stamp) ?? NaN : NaN;
    const o: TimedObservation = { obs: { [OBS_STATE]: state }, stampSec: stamp, recvSec: monoSec(), seq: ++this.seq };
    if (this.pendingEpisodeEnd) { o.episodeEnd = this.pendingEpisodeEnd; this.pendingEpisodeEnd = null; }
    this.latest = o;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      if (w.timer) clearTimeout(w.timer);
      this.lastReturnedSeq = o.seq;
      w.resolve(o);
    }
  }

  getObservation(timeoutSec = Infinity): Promise<TimedObservation> {
    if (this.fatal) return Promise.reject(this.fatal);
    if (this.estopped) return Promise.reject(new EstopError());
    if (this.latest && this.latest.seq > this.lastReturnedSeq) {
      this.lastReturnedSeq = this.latest.seq;
      return Promise.resolve(this.latest);
    }
    if (this.waiter) return Promise.reject(new Error('getObservation: already waiting'));
    return new Promise((resolve, reject) => {
      const w: Waiter = { resolve, reject, timer: null };
      if (Number.isFinite(timeoutSec)) {
        const t0 = monoSec();
        w.timer = setTimeout(() => {
          if (this.waiter === w) this.waiter = null;
          reject(new StallError(monoSec() - t0));
        }, Math.max(0, timeoutSec * 1000));
      }
      this.waiter = w;
    });
  }

  /** Seconds since the last observation arrived (Infinity before the first). */
  sinceLastObsSec(): number {
    return this.latest ? monoSec() - this.latest.recvSec : Infinity;
  }

  async sendAction(a: Float32Array, tTargetSec: number): Promise<void> {
    if (this.fatal) throw this.fatal;
    const topic = this.commandTopic;
    if (!topic) throw new Error('robot: not connected');
    const c = this.cfg.command;
    const v = new Float64Array(a.length);
    for (let i = 0; i < a.length; i++) v[i] = a[i]! * (c.scale?.[i] ?? 1) + (c.offset?.[i] ?? 0);
    switch (c.type) {
      case 'std_msgs/Float64MultiArray':
        topic.publish(float64MultiArrayMsg(v));
        break;
      case 'trajectory_msgs/JointTrajectory':
        topic.publish(jointTrajectoryMsg(c.names, v, wallSec(), tTargetSec - monoSec()));
        break;
      case 'geometry_msgs/Twist':
        topic.publish(twistMsg(c.twistFields!, v));
        break;
    }
  }

  holdAction(): Float32Array {
    return this.cfg.hold ? Float32Array.from(this.cfg.hold) : new Float32Array(this.cfg.command.names.length);
  }

  async hold(): Promise<void> {
    if (!this.commandTopic || !this.ros?.isConnected) return;
    const f = this.fatal;
    this.fatal = null; // a hold goes out even after a fatal stream error, if the socket is still up
    try { await this.sendAction(this.holdAction(), monoSec()); } finally { this.fatal = f; }
  }

  async resetEpisode(seed: number): Promise<void> {
    const ros = this.ros;
    if (!ros || !this.cfg.episode) throw new Error('robot: episodes are not supported by this robot config');
    const svc = new Service<{ seed: number }, unknown>({ ros, name: this.cfg.episode.resetService, serviceType: 'std_srvs/Trigger' });
    await withTimeout(new Promise<void>((resolve, reject) => {
      svc.callService({ seed }, () => {
        // Synchronously, in the answer's message handler: everything that arrived before the answer belongs to the
        // previous episode, everything after it (the new first observation may be in the same socket read) to this one.
        this.latest = null;
        this.pendingEpisodeEnd = null;
        resolve();
      }, (e) => reject(new Error(`reset service failed: ${e}`)));
    }), 5000, 'waiting for the reset service');
  }

  /** Call a service on the robot (diagnostics: /stride/info, /stride/stats, /stride/fault on the sim-robot). */
  callService<T>(name: string, args: Record<string, unknown>, timeoutSec = 5): Promise<T> {
    const ros = this.ros;
    if (!ros) return Promise.reject(new Error('robot: not connected'));
    const svc = new Service<Record<string, unknown>, T>({ ros, name, serviceType: 'std_srvs/Trigger' });
    return withTimeout(new Promise<T>((resolve, reject) => {
      svc.callService(args, resolve, (e) => reject(new Error(`${name}: ${e}`)));
    }), timeoutSec * 1000, `waiting for ${name}`);
  }

  triggerEstop(): void {
    if (this.estopped) return;
    this.estopped = true;
    this.onEstop?.();
    this.rejectWaiter(new EstopError());
  }

  get isEstopped(): boolean { return this.estopped; }

  async disconnect(): Promise<void> {
    this.rejectWaiter(new Error('robot disconnected'));
    const ros = this.ros;
    this.ros = null;
    this.commandTopic = null;
    if (!ros) return;
    const closed = new Promise<void>((resolve) => { ros.once('close', () => resolve()); setTimeout(resolve, 1000).unref(); });
    ros.close();
    await closed;
  }

  private setFatal(e: Error): void {
    if (this.fatal || !this.ros) return;
    this.fatal = e;
    this.authWaiter?.reject(e);
    this.authWaiter = null;
    this.rejectWaiter(e);
  }

  private rejectWaiter(e: Error): void {
    const w = this.waiter;
    if (!w) return;
    this.waiter = null;
    if (w.timer) clearTimeout(w.timer);
    w.reject(e);
  }
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out ${what} (${Math.round(ms)} ms)`)), ms);
    const onAbort = () => { clearTimeout(timer); reject(new Error(`aborted ${what}`)); };
    signal?.addEventListener('abort', onAbort, { once: true });
    p.then((v) => { clearTimeout(timer); signal?.removeEventListener('abort', onAbort); resolve(v); },
      (e) => { clearTimeout(timer); signal?.removeEventListener('abort', onAbort); reject(e); });
  });
}
