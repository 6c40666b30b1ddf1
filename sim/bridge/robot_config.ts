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

const isStrArr = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isNumArr = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/** Parse and structurally check a robot config (no policy needed yet). */
export function parseRobotConfig(raw: unknown, file = '<inline>'): RobotConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(file, 'must be a JSON object');
  const r = raw as Record<string, unknown>;
  const obsRaw = Array.isArray(r.observation) ? r.observation : r.observation ? [r.observation] : fail(file, "missing 'observation'");
  if (obsRaw.length === 0) fail(file, "'observation' is empty");
  const observation: ObsSource[] = obsRaw.map((o: unknown, i: number) => {
    const s = o as Record<string, unknown>;
    if (typeof s?.topic !== 'string') fail(file, `observation[${i}].topic must be a string`);
    const type = (s.type ?? 'sensor_msgs/JointState') as string;
    if (type !== 'sensor_msgs/JointState' && type !== 'std_msgs/Float64MultiArray') fail(file, `observation[${i}].type must be sensor_msgs/JointState or std_msgs/Float64MultiArray, got '${type}'`);
    const field = (s.field ?? (type === 'std_msgs/Float64MultiArray' ? 'data' : 'position')) as ObsField;
    if (type === 'sensor_msgs/JointState' && !['position', 'velocity', 'effort'].includes(field)) fail(file, `observation[${i}].field must be position, velocity or effort`);
    if (!isStrArr(s.names) || s.names.length === 0) fail(file, `observation[${i}].names must be a non-empty array of strings`);
    if (s.as !== undefined && (!isStrArr(s.as) || s.as.length !== s.names.length)) fail(file, `observation[${i}].as must be ${s.names.length} strings (one per name)`);
    return { topic: s.topic, type, field, names: s.names, ...(s.as ? { as: s.as } : {}) } as ObsSource;
  });
  const c = r.command as Record<string, unknown> | undefined;
  if (!c || typeof c.topic !== 'string') fail(file, "missing 'command.topic'");
  if (!(COMMAND_TYPES as readonly string[]).includes(c.type as string)) fail(file, `command.type must be one of ${COMMAND_TYPES.join(', ')}, got '${String(c.type)}'`);
  if (!isStrArr(c.names) || c.names.length === 0) fail(file, 'command.names must be a non-empty array of strings');
  const n = c.names.length;
  for (const k of ['scale', 'offset'] as const) {
    if (c[k] !== undefined && (!isNumArr(c[k]) || (c[k] as number[]).length !== n)) fail(file, `command.${k} must be ${n} numbers`);
  }
  if (c.type === 'geometry_msgs/Twist') {
    if (!isStrArr(c.twistFields) || c.twistFields.length !== n || !c.twistFields.every((f) => (TWIST_FIELDS as readonly string[]).includes(f))) {
      fail(file, `command.twistFields must list ${n} of ${TWIST_FIELDS.join(', ')} for a Twist command`);
    }
  }
  if (r.hold !== undefined && (!isNumArr(r.hold) || r.hold.length !== n)) fail(file, `hold must be ${n} numbers`);
  if (r.ctrlDtSec !== undefined && !(typeof r.ctrlDtSec === 'number' && r.ctrlDtSec > 0 && r.ctrlDtSec < 10)) fail(file, 'ctrlDtSec must be a number of seconds in (0, 10)');
  const wd = r.watchdog as Record<string, unknown> | undefined;
  if (wd?.stallPeriods !== undefined && !(typeof wd.stallPeriods === 'number' && wd.stallPeriods > 0)) fail(file, 'watchdog.stallPeriods must be > 0');
  const ep = r.episode as Record<string, unknown> | null | undefined;
  if (ep && (typeof ep.resetService !== 'string' || typeof ep.statusTopic !== 'string')) fail(file, 'episode needs resetService and statusTopic strings');
  if (r.estopTopic !== undefined && r.estopTopic !== null && typeof r.estopTopic !== 'string') fail(file, 'estopTopic must be a string or null');
  if (r.estopType !== undefined && r.estopType !== 'std_msgs/Bool' && r.estopType !== 'std_msgs/Empty') fail(file, 'estopType must be std_msgs/Bool or std_msgs/Empty');
  if (r.safety !== undefined && (typeof r.safety !== 'object' || r.safety === null)) fail(file, 'safety must be an object');
  return {
    name: typeof r.name === 'string' ? r.name : 'robot',
    observation,
    command: c as unknown as RobotConfig['command'],
    hold: r.hold as number[] | undefined,
    estopTopic: r.estopTopic as string | null | undefined,
    estopType: r.estopType as RobotConfig['estopType'],
    episode: (ep ?? null) as RobotConfig['episode'],
    ctrlDtSec: r.ctrlDtSec as number | undefined,
    safety: r.safety as SafetySpec | undefined,
    watchdog: wd as RobotConfig['watchdog'],
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
