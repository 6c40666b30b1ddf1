/**
 * Per-robot mapping config (JSON): which topics and messages form `observation.state`, which message carries the
 * command, the hold command, the e-stop and episode topics, the robot's own safety envelope and the watchdog.
 * Loaded with `loadRobotConfig(file)` and checked against the policy's features with `validateRobotConfig` —
 * a mismatch is a one-line error and the bridge refuses to start.
 *
 * Example (arm, 2 joints):
 * {
 *   "name": "arm",
 *   "observation": [{ "topic": "/joint_states", "type": "sensor_msgs/JointState", "field": "position", "names": ["j1", "j2"] }],
 *   "command": { "topic": "/arm/command", "type": "trajectory_msgs/JointTrajectory", "names": ["j1", "j2"] },
 *   "hold": [0, 0], "estopTopic": "/estop", "safety": { "maxDeltaPerStep": 0.1 }, "watchdog": { "stallPeriods": 2 }
 * }
 */
import { readFileSync } from 'node:fs';
import { ACTION, OBS_STATE, featureSize, type Features } from '../core/features.ts';
import { COMMAND_TYPES, TWIST_FIELDS, type CommandType, type TwistField } from './protocol.ts';
import type { SafetySpec } from './safety.ts';
import { issueLine, z } from '../core/schema.ts';

export type ObsField = 'position' | 'velocity' | 'effort' | 'data';

export interface ObsSource {
  /** Topic carrying (part of) observation.state. */
  topic: string;
  /** `sensor_msgs/JointState` (picked by joint name) or `std_msgs/Float64MultiArray` (taken in order). */
  type: 'sensor_msgs/JointState' | 'std_msgs/Float64MultiArray';
  /** JointState field the values come from ('data' for Float64MultiArray). */
  field: ObsField;
  /** Element names, in the order the policy's observation.state wants them (joint names for JointState). */
  names: string[];
  /**
   * The policy's names for these elements when they differ from `names` (e.g. joint velocities: `names` are the
   * joint names in the JointState message, `as` the policy's `<joint>_vel`); same length as `names`.
   */
  as?: string[];
}

export interface RobotConfig {
  /** Free-form robot name for logs. */
  name: string;
  /** Sources concatenated in order form observation.state; all must have arrived once before the first step, and
   *  the first source paces the control loop (one step per message on it). */
  observation: ObsSource[];
  command: {
    topic: string;
    type: CommandType;
    /** Joint / element names of the command, in the policy's action order. */
    names: string[];
    /** Robot command = action × scale + offset (per element; default 1 and 0). */
    scale?: number[];
    offset?: number[];
    /** For geometry_msgs/Twist: the Twist field each action element drives. */
    twistFields?: TwistField[];
  };
  /** Action (policy space) sent as the hold command on stop; zeros by default. */
  hold?: number[];
  /** `std_msgs/Bool` (true = stop) or `std_msgs/Empty` e-stop topic; null to disable. */
  estopTopic?: string | null;
  estopType?: 'std_msgs/Bool' | 'std_msgs/Empty';
  /** Optional episode support (sim-robot offers both): reset service and JSON episode-summary topic. */
  episode?: { resetService: string; statusTopic: string } | null;
  /** Control period, seconds; when absent it is measured from the observation stream. */
  ctrlDtSec?: number;
  /** The robot's own safety envelope; combined with the checkpoint's, tighter wins. */
  safety?: SafetySpec;
  watchdog?: {
    /** Observation stall longer than this many control periods ⇒ hold and stop. */
    stallPeriods?: number;
  };
}

/** The mapping a sim-robot of a scene with these features speaks by default. */
export function defaultRobotConfig(policyIn: Features, policyOut: Features): RobotConfig {
  const s = policyIn[OBS_STATE], a = policyOut[ACTION];
  if (!s) throw new Error(`policy has no '${OBS_STATE}' input; the bridge maps joint states to it`);
  if (!a) throw new Error(`policy has no '${ACTION}' output`);
  const names = (spec: { names?: readonly string[]; shape: readonly number[] }, p: string) =>
    spec.names && spec.names.length === featureSize(spec as never) ? [...spec.names] : Array.from({ length: featureSize(spec as never) }, (_, i) => `${p}${i}`);
  return {
    name: 'sim-robot',
    observation: [{ topic: '/joint_states', type: 'sensor_msgs/JointState', field: 'position', names: names(s, 'state') }],
    command: { topic: '/command', type: 'std_msgs/Float64MultiArray', names: names(a, 'a') },
    estopTopic: '/estop',
    estopType: 'std_msgs/Bool',
    episode: { resetService: '/stride/reset', statusTopic: '/stride/episode' },
  };
}

function fail(file: string, msg: string): never {
  throw new Error(`robot config ${file}: ${msg}`);
}

const isNumArr = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));

const name = z.string().min(1).max(256);
const names = z.array(name).min(1).max(4096);
const numbers = z.array(z.number()).max(4096);
/** A safety bound: one number for every element, or one per element (null = unbounded). */
const bound = z.union([z.number(), z.array(z.number().nullable()).max(4096)]);
const obsSource = z.strictObject({
  topic: name,
  type: z.enum(['sensor_msgs/JointState', 'std_msgs/Float64MultiArray']).optional(),
  field: z.enum(['position', 'velocity', 'effort', 'data']).optional(),
  names,
  as: z.array(name).max(4096).optional(),
});

/**
 * The robot config file as a zod strict schema: a misspelt key (`estoptopic`, `watchdgo`) is an error, not a silently
 * disabled e-stop or watchdog. Cross-field rules (lengths, Twist fields) are checked after it.
 */
const RobotConfigFile = z.strictObject({
  name: z.string().max(256).optional(),
  observation: z.union([obsSource, z.array(obsSource).min(1).max(64)]),
  command: z.strictObject({
    topic: name,
    type: z.enum(COMMAND_TYPES),
    names,
    scale: numbers.optional(),
    offset: numbers.optional(),
    twistFields: z.array(z.enum(TWIST_FIELDS)).optional(),
  }),
  hold: numbers.optional(),
  estopTopic: name.nullable().optional(),
  estopType: z.enum(['std_msgs/Bool', 'std_msgs/Empty']).optional(),
  episode: z.strictObject({ resetService: name, statusTopic: name }).nullable().optional(),
  ctrlDtSec: z.number().gt(0).lt(10).optional(),
  safety: z.strictObject({ actionLow: bound.optional(), actionHigh: bound.optional(), maxDeltaPerStep: bound.optional(), workspaceLow: bound.optional(), workspaceHigh: bound.optional() }).optional(),
  watchdog: z.strictObject({ stallPeriods: z.number().gt(0).max(10_000).optional() }).optional(),
});

/** Parse and structurally check a robot config (no policy needed yet). */
export function parseRobotConfig(raw: unknown, file = '<inline>'): RobotConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(file, 'must be a JSON object');
  const parsed = RobotConfigFile.safeParse(raw, { reportInput: true });
  if (!parsed.success) fail(file, issueLine(parsed.error, '').replace(/^\./, ''));
  const r = parsed.data;
  const observation: ObsSource[] = (Array.isArray(r.observation) ? r.observation : [r.observation]).map((o, i) => {
    const type = o.type ?? 'sensor_msgs/JointState';
    const field = o.field ?? (type === 'std_msgs/Float64MultiArray' ? 'data' : 'position');
    if (type === 'sensor_msgs/JointState' && !['position', 'velocity', 'effort'].includes(field)) fail(file, `observation[${i}].field must be position, velocity or effort`);
    if (o.as !== undefined && o.as.length !== o.names.length) fail(file, `observation[${i}].as must be ${o.names.length} strings (one per name)`);
    return { topic: o.topic, type, field, names: o.names, ...(o.as ? { as: o.as } : {}) };
  });
  const c = r.command;
  const n = c.names.length;
  for (const k of ['scale', 'offset'] as const) {
    if (c[k] !== undefined && (!isNumArr(c[k]) || c[k].length !== n)) fail(file, `command.${k} must be ${n} numbers`);
  }
  if (c.type === 'geometry_msgs/Twist' && (!c.twistFields || c.twistFields.length !== n)) {
    fail(file, `command.twistFields must list ${n} of ${TWIST_FIELDS.join(', ')} for a Twist command`);
  }
  if (r.hold !== undefined && r.hold.length !== n) fail(file, `hold must be ${n} numbers`);
  return {
    name: r.name ?? 'robot',
    observation,
    command: c as RobotConfig['command'],
    hold: r.hold,
    estopTopic: r.estopTopic,
    estopType: r.estopType,
    episode: r.episode ?? null,
    ctrlDtSec: r.ctrlDtSec,
    safety: r.safety as SafetySpec | undefined,
    watchdog: r.watchdog,
  };
}

export function loadRobotConfig(file: string): RobotConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`robot config ${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`robot config ${file}: invalid JSON (${(e as Error).message})`);
  }
  return parseRobotConfig(raw, file);
}

/**
 * Check the config against the policy's features: every policy input must be provided (only observation.state can
 * come from the robot), sizes must agree, and where the policy names its elements the names must match in order.
 * Throws one line listing what differs.
 */
export function validateRobotConfig(cfg: RobotConfig, policyIn: Features, policyOut: Features): void {
  const extra = Object.keys(policyIn).filter((k) => k !== OBS_STATE);
  if (extra.length) throw new Error(`feature mismatch: the policy needs ${extra.map((k) => `'${k}'`).join(', ')} which the robot config does not provide (only '${OBS_STATE}' comes from the robot)`);
  const s = policyIn[OBS_STATE];
  if (!s) throw new Error(`feature mismatch: the policy has no '${OBS_STATE}' input`);
  const obsNames = cfg.observation.flatMap((o) => o.as ?? o.names);
  checkNames('observation.state', featureSize(s), s.names, obsNames);
  const a = policyOut[ACTION];
  if (!a) throw new Error(`feature mismatch: the policy has no '${ACTION}' output`);
  checkNames('action', featureSize(a), a.names, cfg.command.names);
}

function checkNames(what: string, size: number, policyNames: readonly string[] | undefined, robotNames: string[]): void {
  if (robotNames.length !== size) {
    throw new Error(`feature mismatch: the policy's ${what} has ${size} elements, the robot config maps ${robotNames.length} (${robotNames.join(', ')})`);
  }
  if (policyNames && policyNames.length === size) {
    const diff = policyNames.map((n, i) => (n === robotNames[i] ? null : `${i}: policy '${n}' vs robot '${robotNames[i]}'`)).filter(Boolean);
    if (diff.length) throw new Error(`feature mismatch: ${what} names differ (${diff.join('; ')})`);
  }
}
