/**
 * The bridge's robot config generated from a URDF (`stride robot import`), so `stride bridge run --config robot.json`
 * drives the same robot on hardware that `robot/reach` simulates.
 *
 * Mapping, from the policy's features (their element names say what each element is):
 * - observation.state elements named like an actuated joint → `sensor_msgs/JointState.position` on `/joint_states`;
 *   `<joint>_vel` → `JointState.velocity` of that joint (same topic, `as` = the policy's names); every other run of
 *   elements → a `std_msgs/Float64MultiArray` topic `/stride/<first name's prefix>` (e.g. the target x, y, z on
 *   `/stride/target`), which the operator publishes.
 * - action → `trajectory_msgs/JointTrajectory` on `/joint_trajectory_controller/joint_trajectory` with the actuated
 *   joint names, `scale`/`offset` turning the policy's [−1, 1] into radians / metres over the URDF limits (continuous
 *   joints: −π … π). Mimic joints are left to the robot's controller.
 * - hold: the URDF zero pose (clamped into the limits) — the pose a stopped robot is sent to.
 * - safety: actions within [−1, 1]; per-step change ≤ the URDF velocity limit × ctrlDtSec (in action units); joint
 *   positions must stay within the URDF limits widened by `limitMarginFrac` of the range, joint rates within
 *   `velocityMarginFactor` × the velocity limit (else the bridge holds and stops).
 */
import { ACTION, OBS_STATE, featureSize, type Features } from '../core/features.ts';
import type { Robot } from '../robot/build.ts';
import type { ObsSource, RobotConfig } from './robot_config.ts';

export interface UrdfBridgeOptions {
  /** Control period of the deployment, seconds (the scene's ctrlDtSec). */
  ctrlDtSec: number;
  /** Joint-position workspace = URDF limits widened by this fraction of the range on each side. */
  limitMarginFrac: number;
  /** Joint-rate workspace = ± this × the URDF velocity limit. */
  velocityMarginFactor: number;
  jointStatesTopic: string;
  commandTopic: string;
}

export const defaultUrdfBridgeOptions = (ctrlDtSec: number): UrdfBridgeOptions => ({
  ctrlDtSec, limitMarginFrac: 0.05, velocityMarginFactor: 1.5,
  jointStatesTopic: '/joint_states', commandTopic: '/joint_trajectory_controller/joint_trajectory',
});

const r6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** The bridge config for `robot` driven by a policy with these features (robot/reach's layout). */
export function robotConfigFromUrdf(robot: Robot, policyIn: Features, policyOut: Features, opts: UrdfBridgeOptions): RobotConfig {
  const s = policyIn[OBS_STATE], a = policyOut[ACTION];
  if (!s?.names || s.names.length !== featureSize(s)) throw new Error(`the policy's '${OBS_STATE}' must name its elements to be mapped onto the robot`);
  if (!a?.names || a.names.length !== featureSize(a)) throw new Error(`the policy's '${ACTION}' must name its elements (the actuated joints)`);
  const byName = new Map(robot.joints.map((j) => [j.name, j]));
  const actuated = new Set(robot.actuated.map((i) => robot.joints[i]!.name));
  for (const n of a.names) if (!actuated.has(n)) throw new Error(`action element '${n}' is not an actuated joint of ${robot.model.name} (${[...actuated].join(', ')})`);

  // --- observation sources: consecutive elements of one kind form one source ---
  type Kind = { kind: 'position' | 'velocity'; joint: string } | { kind: 'array'; prefix: string };
  const kindOf = (n: string): Kind => {
    if (actuated.has(n)) return { kind: 'position', joint: n };
    if (n.endsWith('_vel') && actuated.has(n.slice(0, -4))) return { kind: 'velocity', joint: n.slice(0, -4) };
    return { kind: 'array', prefix: n.includes('_') ? n.slice(0, n.lastIndexOf('_')) : n };
  };
  const observation: ObsSource[] = [];
  let last: { key: string; src: ObsSource } | null = null;
  for (const n of s.names) {
    const k = kindOf(n);
    const key = k.kind === 'array' ? `array:${k.prefix}` : k.kind;
    if (!last || last.key !== key) {
      const src: ObsSource = k.kind === 'array'
        ? { topic: `/stride/${k.prefix}`, type: 'std_msgs/Float64MultiArray', field: 'data', names: [] }
        : { topic: opts.jointStatesTopic, type: 'sensor_msgs/JointState', field: k.kind, names: [], ...(k.kind === 'velocity' ? { as: [] } : {}) };
      observation.push(src);
      last = { key, src };
    }
    if (k.kind === 'array') last.src.names.push(n);
    else { last.src.names.push(k.joint); last.src.as?.push(n); }
  }

  // --- command: [-1, 1] → joint range ---
  const joints = a.names.map((n) => byName.get(n)!);
  const scale = joints.map((j) => r6((j.rangeHi - j.rangeLo) / 2));
  const offset = joints.map((j) => r6((j.rangeHi + j.rangeLo) / 2));
  const hold = joints.map((j) => r6(Math.max(-1, Math.min(1, ((Math.min(j.rangeHi, Math.max(j.rangeLo, 0)) - j.rangeLo) / (j.rangeHi - j.rangeLo)) * 2 - 1))));
  const maxDeltaPerStep = joints.map((j) => r6(Math.min(2, (j.velocity * opts.ctrlDtSec) / ((j.rangeHi - j.rangeLo) / 2))));

  // --- workspace on observation.state ---
  const low: (number | null)[] = [], high: (number | null)[] = [];
  for (const n of s.names) {
    const k = kindOf(n);
    if (k.kind === 'array') { low.push(null); high.push(null); continue; }
    const j = byName.get(k.joint)!;
    if (k.kind === 'velocity') { low.push(r6(-opts.velocityMarginFactor * j.velocity)); high.push(r6(opts.velocityMarginFactor * j.velocity)); continue; }
    if (!j.limited) { low.push(null); high.push(null); continue; }
    const m = opts.limitMarginFrac * (j.rangeHi - j.rangeLo);
    low.push(r6(j.rangeLo - m)); high.push(r6(j.rangeHi + m));
  }

  return {
    name: robot.model.name,
    observation,
    command: { topic: opts.commandTopic, type: 'trajectory_msgs/JointTrajectory', names: [...a.names], scale, offset },
    hold,
    estopTopic: '/estop',
    estopType: 'std_msgs/Bool',
    episode: null,
    ctrlDtSec: opts.ctrlDtSec,
    safety: { actionLow: -1, actionHigh: 1, maxDeltaPerStep, workspaceLow: low, workspaceHigh: high },
    watchdog: { stallPeriods: 2 },
  };
}
