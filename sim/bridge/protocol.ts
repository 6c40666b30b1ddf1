/**
 * rosbridge v2 protocol pieces shared by the sim-robot server and the bridge client: op schemas, the ROS message types
 * the bridge speaks (with structural validators), time stamps and rosauth-style MACs.
 *
 * Reference: https://github.com/RobotWebTools/rosbridge_suite/blob/ros2/ROSBRIDGE_PROTOCOL.md
 * Every validator returns `null` when the value is fine, else a one-line reason — the server turns it into a
 * `status` error and drops the message; nothing here throws on untrusted input.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { issueLine, z } from '../core/schema.ts';

/** Message types the bridge and the sim-robot understand (ROS 1 spelling; ROS 2 `pkg/msg/Type` is normalised). */
export const MSG_TYPES = [
  'sensor_msgs/JointState',
  'std_msgs/Float64MultiArray',
  'trajectory_msgs/JointTrajectory',
  'geometry_msgs/Twist',
  'std_msgs/Bool',
  'std_msgs/Empty',
  'std_msgs/Float64',
  'std_msgs/String',
] as const;
export type MsgType = (typeof MSG_TYPES)[number];

/** Command message types a robot config may use for the policy's action. */
export const COMMAND_TYPES = ['std_msgs/Float64MultiArray', 'trajectory_msgs/JointTrajectory', 'geometry_msgs/Twist'] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];

/** Longest array accepted inside a message (joint lists, data arrays). */
export const MAX_ARRAY_LEN = 4096;

/** `sensor_msgs/msg/JointState` → `sensor_msgs/JointState`; returns null for anything that is not `pkg/Type`. */
export function normalizeType(t: unknown): string | null {
  if (typeof t !== 'string' || t.length > 128) return null;
  const parts = t.split('/');
  if (parts.length === 3 && parts[1] === 'msg') return `${parts[0]}/${parts[2]}`;
  if (parts.length === 2 && parts[0] && parts[1]) return t;
  return null;
}

export function isKnownType(t: string): t is MsgType {
  return (MSG_TYPES as readonly string[]).includes(t);
}

// --- time stamps ---

export interface RosTime { sec: number; nanosec: number }

export function rosTimeFromSec(tSec: number): RosTime {
  const sec = Math.floor(tSec);
  return { sec, nanosec: Math.min(999_999_999, Math.round((tSec - sec) * 1e9)) };
}

/** Accepts ROS 2 `{sec, nanosec}` and ROS 1 `{secs, nsecs}`; null when malformed. */
export function rosTimeToSec(t: unknown): number | null {
  if (!isObj(t)) return null;
  const s = t.sec ?? t.secs, n = t.nanosec ?? t.nsecs ?? 0;
  if (typeof s !== 'number' || typeof n !== 'number' || !Number.isFinite(s) || !Number.isFinite(n)) return null;
  return s + n * 1e-9;
}

/** Wall-clock seconds with sub-millisecond resolution (epoch based, like ROS time). */
export function wallSec(): number {
  return (performance.timeOrigin + performance.now()) / 1000;
}

// --- message builders ---

export interface JointStateMsg {
  header: { stamp: RosTime; frame_id: string };
  name: string[]; position: number[]; velocity: number[]; effort: number[];
}

export function jointStateMsg(names: readonly string[], position: ArrayLike<number>, stampSec: number): JointStateMsg {
  return { header: { stamp: rosTimeFromSec(stampSec), frame_id: '' }, name: [...names], position: Array.from(position), velocity: [], effort: [] };
}

export function float64MultiArrayMsg(data: ArrayLike<number>, label = ''): { layout: { dim: { label: string; size: number; stride: number }[]; data_offset: number }; data: number[] } {
  return { layout: { dim: [{ label, size: data.length, stride: data.length }], data_offset: 0 }, data: Array.from(data) };
}

export function jointTrajectoryMsg(names: readonly string[], positions: ArrayLike<number>, stampSec: number, fromStartSec: number) {
  return {
    header: { stamp: rosTimeFromSec(stampSec), frame_id: '' },
    joint_names: [...names],
    points: [{ positions: Array.from(positions), velocities: [], accelerations: [], effort: [], time_from_start: rosTimeFromSec(Math.max(0, fromStartSec)) }],
  };
}

/** Twist fields addressable by an action element. */
export const TWIST_FIELDS = ['linear.x', 'linear.y', 'linear.z', 'angular.x', 'angular.y', 'angular.z'] as const;
export type TwistField = (typeof TWIST_FIELDS)[number];

export function twistMsg(fields: readonly TwistField[], values: ArrayLike<number>) {
  const m = { linear: { x: 0, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } };
  fields.forEach((f, i) => {
    const [g, c] = f.split('.') as ['linear' | 'angular', 'x' | 'y' | 'z'];
    m[g][c] = values[i] ?? 0;
  });
  return m;
}

export function twistValues(fields: readonly TwistField[], msg: { linear: Record<string, number>; angular: Record<string, number> }): number[] {
  return fields.map((f) => {
    const [g, c] = f.split('.') as ['linear' | 'angular', string];
    return msg[g]![c]!;
  });
}

// --- message validators ---

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function numArray(v: unknown, field: string, allowEmpty = true): string | null {
  if (!Array.isArray(v)) return `'${field}' must be an array of numbers`;
  if (v.length > MAX_ARRAY_LEN) return `'${field}' has ${v.length} elements (max ${MAX_ARRAY_LEN})`;
  if (!allowEmpty && v.length === 0) return `'${field}' must not be empty`;
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== 'number' || !Number.isFinite(v[i])) return `'${field}[${i}]' is not a finite number`;
  }
  return null;
}

function strArray(v: unknown, field: string): string | null {
  if (!Array.isArray(v)) return `'${field}' must be an array of strings`;
  if (v.length > MAX_ARRAY_LEN) return `'${field}' has ${v.length} elements (max ${MAX_ARRAY_LEN})`;
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string' || v[i].length > 256) return `'${field}[${i}]' is not a string`;
  return null;
}

function header(v: unknown, field = 'header'): string | null {
  if (v === undefined) return null;
  if (!isObj(v)) return `'${field}' must be an object`;
  if (v.stamp !== undefined && rosTimeToSec(v.stamp) === null) return `'${field}.stamp' must be {sec, nanosec}`;
  if (v.frame_id !== undefined && typeof v.frame_id !== 'string') return `'${field}.frame_id' must be a string`;
  return null;
}

function vec3(v: unknown, field: string): string | null {
  if (!isObj(v)) return `'${field}' must be an object {x, y, z}`;
  for (const c of ['x', 'y', 'z']) {
    const x = v[c] ?? 0;
    if (typeof x !== 'number' || !Number.isFinite(x)) return `'${field}.${c}' is not a finite number`;
  }
  return null;
}

/** Structural check of a message against its type. */
export function validateMsg(type: MsgType, msg: unknown): string | null {
  if (!isObj(msg)) return `${type} message must be an object`;
  switch (type) {
    case 'sensor_msgs/JointState': {
      const e = header(msg.header) ?? strArray(msg.name, 'name');
      if (e) return e;
      const n = (msg.name as string[]).length;
      for (const f of ['position', 'velocity', 'effort']) {
        const v = msg[f] ?? [];
        const err = numArray(v, f);
        if (err) return err;
        if ((v as number[]).length !== 0 && (v as number[]).length !== n) return `'${f}' has ${(v as number[]).length} elements, 'name' has ${n}`;
      }
      return null;
    }
    case 'std_msgs/Float64MultiArray':
      if (msg.layout !== undefined && !isObj(msg.layout)) return `'layout' must be an object`;
      return numArray(msg.data, 'data');
    case 'trajectory_msgs/JointTrajectory': {
      const e = header(msg.header) ?? strArray(msg.joint_names, 'joint_names');
      if (e) return e;
      if (!Array.isArray(msg.points) || msg.points.length === 0) return `'points' must be a non-empty array`;
      if (msg.points.length > 1024) return `'points' has ${msg.points.length} entries (max 1024)`;
      for (let i = 0; i < msg.points.length; i++) {
        const p = msg.points[i];
        if (!isObj(p)) return `'points[${i}]' must be an object`;
        const pe = numArray(p.positions, `points[${i}].positions`, false);
        if (pe) return pe;
        if ((p.positions as number[]).length !== (msg.joint_names as string[]).length) return `'points[${i}].positions' has ${(p.positions as number[]).length} elements, 'joint_names' has ${(msg.joint_names as string[]).length}`;
        if (p.time_from_start !== undefined && rosTimeToSec(p.time_from_start) === null) return `'points[${i}].time_from_start' must be {sec, nanosec}`;
      }
      return null;
    }
    case 'geometry_msgs/Twist':
      return vec3(msg.linear, 'linear') ?? vec3(msg.angular, 'angular');
    case 'std_msgs/Bool':
      return typeof msg.data === 'boolean' ? null : `'data' must be a boolean`;
    case 'std_msgs/Empty':
      return null;
    case 'std_msgs/Float64':
      return typeof msg.data === 'number' && Number.isFinite(msg.data) ? null : `'data' must be a finite number`;
    case 'std_msgs/String':
      return typeof msg.data === 'string' ? null : `'data' must be a string`;
  }
}

// --- ops ---

/** Strings in ops (ids, topics, types, services): bounded. */
const opStr = z.string().max(256);
const count = z.int().min(0).max(1_000_000);
const jsonObject = z.custom<Record<string, unknown>>(isObj, { message: 'must be an object' });

/**
 * The ops the sim-robot accepts, as zod strict objects with exactly the fields rosbridge v2 documents (and roslib
 * sends): a field outside them — prototype names such as `__proto__` or `toString` included — is refused like any
 * other unknown field, so every malformed frame gets a status error.
 */
const OP_SCHEMAS = {
  auth: z.strictObject({ op: z.literal('auth'), mac: opStr, client: opStr, dest: opStr, rand: opStr, level: opStr, t: z.number(), end: z.number() }),
  advertise: z.strictObject({ op: z.literal('advertise'), id: opStr.optional(), topic: opStr, type: opStr, latch: z.boolean().optional(), queue_size: count.optional() }),
  unadvertise: z.strictObject({ op: z.literal('unadvertise'), id: opStr.optional(), topic: opStr }),
  publish: z.strictObject({ op: z.literal('publish'), id: opStr.optional(), topic: opStr, msg: jsonObject, latch: z.boolean().optional() }),
  subscribe: z.strictObject({
    op: z.literal('subscribe'), id: opStr.optional(), topic: opStr, type: opStr.optional(), compression: opStr.optional(),
    throttle_rate: count.optional(), queue_length: count.optional(), fragment_size: count.optional(),
  }),
  unsubscribe: z.strictObject({ op: z.literal('unsubscribe'), id: opStr.optional(), topic: opStr }),
  call_service: z.strictObject({
    op: z.literal('call_service'), id: opStr.optional(), service: opStr, type: opStr.optional(),
    args: z.union([jsonObject, z.array(z.unknown()).max(MAX_ARRAY_LEN)]).optional(), timeout: z.number().min(0).optional(),
    fragment_size: count.optional(), compression: opStr.optional(),
  }),
  set_level: z.strictObject({ op: z.literal('set_level'), id: opStr.optional(), level: opStr }),
} as const;

export const SUPPORTED_OPS = Object.keys(OP_SCHEMAS);

export interface Op { op: string; id?: string; [k: string]: unknown }

/** Parses one frame into an op or a reason to reject it. */
export function parseOp(raw: string): { op: Op } | { error: string; id?: string } {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return { error: 'malformed JSON' };
  }
  if (!isObj(v)) return { error: 'message must be a JSON object' };
  const id = typeof v.id === 'string' && v.id.length <= 256 ? v.id : undefined;
  if (typeof v.op !== 'string') return { error: "missing 'op'", id };
  if (!Object.prototype.hasOwnProperty.call(OP_SCHEMAS, v.op)) return { error: `unknown or unsupported op '${v.op.slice(0, 40)}' (supported: ${SUPPORTED_OPS.join(', ')})`, id };
  const schema = OP_SCHEMAS[v.op as keyof typeof OP_SCHEMAS];
  const r = schema.safeParse(v, { reportInput: true });
  if (!r.success) {
    const line = issueLine(r.error, '').replace(/^\.(\S+) /, (_m, f: string) => `field '${f}' `);
    return { error: `op '${v.op}': ${line}${/not an allowed field/.test(line) ? ` (${v.op} takes ${Object.keys(schema.shape).join(', ')})` : ''}`, id };
  }
  return { op: r.data as Op };
}

// --- auth (rosauth-style MAC) ---

export interface AuthFields { client: string; dest: string; rand: string; t: number; level: string; end: number }

/** rosauth's MAC: sha512(secret + client + dest + rand + t + level + end), hex. The token is the shared secret. */
export function authMac(token: string, f: AuthFields): string {
  return createHash('sha512').update(`${token}${f.client}${f.dest}${f.rand}${f.t}${f.level}${f.end}`).digest('hex');
}

export function checkAuth(token: string, op: Op, nowSec: number): string | null {
  const f = op as unknown as AuthFields & { mac: string };
  if (!(f.end > nowSec)) return 'authentication failed: session end time is in the past';
  if (Math.abs(f.t - nowSec) > 300) return 'authentication failed: request time is more than 5 minutes off';
  const want = Buffer.from(authMac(token, f), 'utf8');
  const got = Buffer.from(String(f.mac), 'utf8');
  if (want.length !== got.length || !timingSafeEqual(want, got)) return 'authentication failed: wrong token';
  return null;
}

/** A fresh auth op body for a client (what `Ros.authenticate(...)` sends). */
export function makeAuth(token: string, client = 'stride-bridge', dest = 'sim-robot'): AuthFields & { mac: string } {
  const t = Math.floor(wallSec());
  const f: AuthFields = { client, dest, rand: randomBytes(12).toString('hex'), t, level: 'user', end: t + 24 * 3600 };
  return { ...f, mac: authMac(token, f) };
}
