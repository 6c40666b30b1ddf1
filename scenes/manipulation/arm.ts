/**
 * The table-top arm shared by every manipulation task, plus its IK and the expert's motion primitives.
 *
 * Kinematics (metres, +Y up, the arm faces +X at yaw 0):
 *   base (fixed pedestal) ─ yaw (about +Y) ─ turret ─ shoulder pitch ─ upper arm (L1) ─ elbow pitch ─ forearm (L2)
 *   ─ wrist pitch ─ hand (palm) ─ two prismatic fingers sliding along the hand's local Z (horizontal, perpendicular
 *   to the arm's vertical plane).
 * Every link's rest orientation (all joint angles 0) is "pointing straight up"; the three pitch joints rotate about
 * the link's local −Z axis, so a positive pitch tilts the link forward/down (towards the yaw direction).
 * Absolute pitch of the hand from vertical = shoulder + elbow + wrist; the hand points straight down at π.
 *
 * Action (5, all in [-1, 1]): joint-position targets for yaw, shoulder, elbow, wrist, mapped linearly onto each
 * joint's limits (−1 = lower limit, +1 = upper limit), and the gripper command (−1 = fully open, +1 = closed: the
 * finger motors then squeeze with at most `fingerForceN` each). PD position motors (Rapier ImpulseJoint motors,
 * force-based) track the targets; joint limits are enforced by the joints.
 *
 * Gravity: the arm's low-level controller is modelled with ideal gravity compensation of its own links (the link and
 * finger bodies have gravity scale 0 — equivalent to the feed-forward torques g(q) of a torque-controlled arm).
 * Without it the PD motors of a Rapier ImpulseJoint chain sag by 2–5 cm: the iterative solver does not converge the
 * static load along the chain. Everything else (blocks, the payload in the gripper) has full gravity, so a grasped
 * block loads the arm and must be held by friction.
 *
 * Grasping is real friction grasping: high-friction finger pads, a force-limited finger motor, no attachment.
 */
import { clamp, type Vec3 } from '../../sim/math/vec.ts';
import {
  addBody, addCollider, addPrismatic, addRevolute, setMotorTarget, type World,
} from '../../sim/physics/index.ts';

// --- collision groups (Rapier: membership << 16 | filter) -----------------------------------------------------------
export const G_TABLE = 1 << 0;
export const G_ARM = 1 << 1;
export const G_FINGER = 1 << 2;
export const G_OBJECT = 1 << 3;
export const G_FIXTURE = 1 << 4;
export const G_DISTRACTOR = 1 << 5;
/** Only the depth camera's rays carry this membership; every visible collider lists it in its filter. */
export const G_CAMERA = 1 << 15;
export const groups = (membership: number, filter: number): number => ((membership & 0xffff) << 16) | (filter & 0xffff);
/** Groups of each collider class. Arm links never collide with each other; distractors collide with nothing. */
export const GROUPS = {
  table: groups(G_TABLE, G_ARM | G_FINGER | G_OBJECT | G_CAMERA),
  arm: groups(G_ARM, G_TABLE | G_OBJECT | G_FIXTURE | G_CAMERA),
  finger: groups(G_FINGER, G_TABLE | G_OBJECT | G_FIXTURE | G_CAMERA),
  object: groups(G_OBJECT, G_TABLE | G_ARM | G_FINGER | G_OBJECT | G_FIXTURE | G_CAMERA),
  fixture: groups(G_FIXTURE, G_ARM | G_FINGER | G_OBJECT | G_CAMERA),
  distractor: groups(G_DISTRACTOR, G_CAMERA),
  /** The camera's ray filter: sees everything that lists G_CAMERA. */
  cameraRay: groups(G_CAMERA, 0xffff),
} as const;

export interface JointGains {
  /** Position gain, N·m/rad (or N/m for the fingers). */
  stiffness: number;
  /** Velocity gain, N·m·s/rad (or N·s/m). */
  damping: number;
  /** Motor force/torque limit, N·m (or N). */
  maxForce: number;
}

export interface ArmConfig {
  /** Height of the shoulder axis above the table top, metres. */
  shoulderHeightM: number;
  /** Upper-arm length (shoulder → elbow), metres. */
  upperArmM: number;
  /** Forearm length (elbow → wrist), metres. */
  forearmM: number;
  /** Wrist axis → grasp point (between the finger pads), metres. */
  handToGraspM: number;
  /** Link masses, kg: turret, upper arm, forearm, hand (palm), each finger. */
  massKg: { turret: number; upperArm: number; forearm: number; hand: number; finger: number };
  /** Joint limits [lo, hi] in rad for yaw, shoulder, elbow, wrist; the action's [-1, 1] maps onto these. */
  limitsRad: [number, number][];
  /** PD gains per arm joint (yaw, shoulder, elbow, wrist). */
  gains: JointGains[];
  /** Finger slide: opening per finger (centre → pad) at gripper = −1, metres. */
  fingerOpenM: number;
  /** Finger PD gains; `maxForce` is the squeeze force per finger, N. */
  finger: JointGains;
  /** Friction coefficient of the finger pads (Rapier averages it with the object's). */
  fingerFriction: number;
  /** Solver iterations of the world (Rapier default 4); more makes stiff grasps and chains steadier. */
  solverIterations: number;
  /**
   * What an action commands. 'joint' (default): [yaw, shoulder, elbow, wrist, gripper], joint-position targets over
   * `limitsRad`. 'cartesian': [x, y, z, gripper], a grasp-point target over `cartesianBoxM` that the top-down IK
   * (`ikTopDown`) turns into the same joint targets every control step — absolute end-effector actions, as in the
   * play benchmarks of BESO/CALVIN. The gripper entry is −1 open … +1 closed in both.
   */
  actionSpace: 'joint' | 'cartesian';
  /** Cartesian action box: [lo, hi] in metres for x, y, z; the action's [-1, 1] maps linearly onto it. */
  cartesianBoxM: [number, number][];
}

export function defaultArmConfig(): ArmConfig {
  return {
    shoulderHeightM: 0.15,
    upperArmM: 0.3,
    forearmM: 0.28,
    handToGraspM: 0.1,
    massKg: { turret: 1.5, upperArm: 0.9, forearm: 0.6, hand: 0.25, finger: 0.05 },
    limitsRad: [[-1.6, 1.6], [-0.5, 1.7], [0.0, 2.7], [-0.5, 2.4]],
    gains: [
      { stiffness: 400, damping: 25, maxForce: 60 },
      { stiffness: 900, damping: 40, maxForce: 80 },
      { stiffness: 500, damping: 20, maxForce: 50 },
      { stiffness: 80, damping: 2.5, maxForce: 15 },
    ],
    fingerOpenM: 0.045,
    finger: { stiffness: 1200, damping: 12, maxForce: 25 },
    fingerFriction: 1.5,
    solverIterations: 4,
    actionSpace: 'joint',
    // Covers the block workspace (radius 0.25–0.5 m, bearing ±0.9 rad) and the carry height with margin.
    cartesianBoxM: [[0.05, 0.6], [0, 0.3], [-0.45, 0.45]],
  };
}

/** Rapier handles of the arm (plain numbers: safe to snapshot). */
export interface ArmHandles {
  base: number;
  /** Dynamic link bodies: turret, upper arm, forearm, hand. */
  links: number[];
  /** Finger bodies [left (+Z), right (−Z)]. */
  fingers: number[];
  /** Arm joint handles: yaw, shoulder, elbow, wrist. */
  joints: number[];
  /** Finger slide joint handles [left, right]. */
  fingerJoints: number[];
  /** Finger pad colliders [left, right] (tactile sensors). */
  pads: number[];
  /** Every collider handle of the arm (for naming/colouring). */
  colliders: number[];
}

// --- forward kinematics ---------------------------------------------------------------------------------------------

const TURRET_Y = 0.08;
const FINGER_HALF = { x: 0.015, y: 0.03, z: 0.006 };
/** Hand-local Y of the finger centres. */
const FINGER_Y = 0.09;

interface Q { x: number; y: number; z: number; w: number }
const qmul = (a: Q, b: Q): Q => ({
  w: a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z,
  x: a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y,
  y: a.w * b.y - a.x * b.z + a.y * b.w + a.z * b.x,
  z: a.w * b.z + a.x * b.y - a.y * b.x + a.z * b.w,
});
const qYaw = (a: number): Q => ({ x: 0, y: Math.sin(a / 2), z: 0, w: Math.cos(a / 2) });
/** Rotation by `a` about −Z (forward pitch). */
const qPitch = (a: number): Q => ({ x: 0, y: 0, z: -Math.sin(a / 2), w: Math.cos(a / 2) });

/** Point in the arm's vertical plane (r forward along the yaw direction, y up) → world. */
function planeToWorld(yaw: number, r: number, y: number): Vec3 {
  return { x: r * Math.cos(yaw), y, z: -r * Math.sin(yaw) };
}

/** World poses of turret, upper arm, forearm, hand origins for joint angles q (yaw, shoulder, elbow, wrist). */
export function forwardKinematics(cfg: ArmConfig, q: readonly number[]): { p: Vec3; q: Q }[] {
  const [yaw, s, e, w] = q as [number, number, number, number];
  const a1 = s, a2 = s + e, a3 = s + e + w;
  const hS = cfg.shoulderHeightM;
  const elbow = { r: cfg.upperArmM * Math.sin(a1), y: hS + cfg.upperArmM * Math.cos(a1) };
  const wrist = { r: elbow.r + cfg.forearmM * Math.sin(a2), y: elbow.y + cfg.forearmM * Math.cos(a2) };
  const qy = qYaw(yaw);
  return [
    { p: { x: 0, y: TURRET_Y, z: 0 }, q: qy },
    { p: planeToWorld(yaw, 0, hS), q: qmul(qy, qPitch(a1)) },
    { p: planeToWorld(yaw, elbow.r, elbow.y), q: qmul(qy, qPitch(a2)) },
    { p: planeToWorld(yaw, wrist.r, wrist.y), q: qmul(qy, qPitch(a3)) },
  ];
}

/** Grasp point (between the finger pads) for joint angles q. */
export function graspPointFK(cfg: ArmConfig, q: readonly number[]): Vec3 {
  const [yaw, s, e, w] = q as [number, number, number, number];
  const a1 = s, a2 = s + e, a3 = s + e + w;
  const r = cfg.upperArmM * Math.sin(a1) + cfg.forearmM * Math.sin(a2) + cfg.handToGraspM * Math.sin(a3);
  const y = cfg.shoulderHeightM + cfg.upperArmM * Math.cos(a1) + cfg.forearmM * Math.cos(a2) + cfg.handToGraspM * Math.cos(a3);
  return planeToWorld(yaw, r, y);
}

/**
 * Top-down IK: joint angles that put the grasp point at `p` with the hand pointing straight down (elbow up).
 * Targets out of reach are pulled onto the reachable shell; the result is clamped to the joint limits.
 */
export function ikTopDown(cfg: ArmConfig, p: Vec3): number[] {
  const yaw = Math.atan2(-p.z, p.x);
  const r = Math.hypot(p.x, p.z);
  // Wrist sits handToGrasp above the grasp point.
  let vr = r, vy = p.y + cfg.handToGraspM - cfg.shoulderHeightM;
  const L1 = cfg.upperArmM, L2 = cfg.forearmM;
  let d = Math.hypot(vr, vy);
  const dMax = (L1 + L2) * 0.999, dMin = Math.abs(L1 - L2) + 1e-3;
  if (d > dMax || d < dMin) {
    const k = clamp(d, dMin, dMax) / Math.max(d, 1e-9);
    vr *= k; vy *= k; d = Math.hypot(vr, vy);
  }
  const phi = Math.atan2(vr, vy);
  const gamma = Math.acos(clamp((L1 * L1 + d * d - L2 * L2) / (2 * L1 * d), -1, 1));
  const a1 = phi - gamma;
  const er = L1 * Math.sin(a1), ey = L1 * Math.cos(a1);
  const a2 = Math.atan2(vr - er, vy - ey);
  const q = [yaw, a1, a2 - a1, Math.PI - a2];
  return q.map((v, i) => clamp(v, cfg.limitsRad[i]![0], cfg.limitsRad[i]![1]));
}

/** Joint angles → normalised action entries (inverse of the action mapping). */
export function jointsToAction(cfg: ArmConfig, q: readonly number[], gripper: number, out = new Float32Array(5)): Float32Array {
  for (let i = 0; i < 4; i++) {
    const [lo, hi] = cfg.limitsRad[i]!;
    out[i] = clamp(((q[i]! - lo) / (hi - lo)) * 2 - 1, -1, 1);
  }
  out[4] = clamp(gripper, -1, 1);
  return out;
}

// --- building ---------------------------------------------------------------------------------------------------

/** Build the arm with joint angles `q0`, fingers open. Bodies are created in a fixed order. */
export function buildArm(world: World, cfg: ArmConfig, q0: readonly number[]): ArmHandles {
  world.numSolverIterations = cfg.solverIterations;
  const colliders: number[] = [];
  const base = addBody(world, { type: 'fixed' });
  colliders.push(addCollider(world, base, { kind: 'cylinder', radiusM: 0.07, halfHeightM: TURRET_Y / 2 }, { p: { x: 0, y: TURRET_Y / 2, z: 0 }, groups: GROUPS.arm, friction: 0.5 }).handle);

  const poses = forwardKinematics(cfg, q0);
  const m = cfg.massKg;
  const mk = (i: number) => {
    const b = addBody(world, { p: poses[i]!.p, q: poses[i]!.q, angularDamping: 0.5, linearDamping: 0.1 });
    b.setGravityScale(0, false);
    return b;
  };
  const turret = mk(0);
  colliders.push(addCollider(world, turret, { kind: 'cylinder', radiusM: 0.06, halfHeightM: 0.035 }, { p: { x: 0, y: 0.035, z: 0 }, massKg: m.turret, groups: GROUPS.arm }).handle);
  const upper = mk(1);
  colliders.push(addCollider(world, upper, { kind: 'box', halfExtentsM: [0.025, cfg.upperArmM / 2, 0.025] }, { p: { x: 0, y: cfg.upperArmM / 2, z: 0 }, massKg: m.upperArm, groups: GROUPS.arm }).handle);
  const fore = mk(2);
  colliders.push(addCollider(world, fore, { kind: 'box', halfExtentsM: [0.02, cfg.forearmM / 2, 0.02] }, { p: { x: 0, y: cfg.forearmM / 2, z: 0 }, massKg: m.forearm, groups: GROUPS.arm }).handle);
  const hand = mk(3);
  colliders.push(addCollider(world, hand, { kind: 'box', halfExtentsM: [0.02, 0.03, 0.06] }, { p: { x: 0, y: 0.03, z: 0 }, massKg: m.hand, groups: GROUPS.arm }).handle);

  const zAxis = { x: 0, y: 0, z: -1 };
  const o = { x: 0, y: 0, z: 0 };
  const lim = cfg.limitsRad, g = cfg.gains;
  const joints = [
    addRevolute(world, base, turret, { x: 0, y: TURRET_Y, z: 0 }, o, { x: 0, y: 1, z: 0 }, { ...g[0]!, limits: lim[0], target: q0[0] }),
    addRevolute(world, turret, upper, { x: 0, y: cfg.shoulderHeightM - TURRET_Y, z: 0 }, o, zAxis, { ...g[1]!, limits: lim[1], target: q0[1] }),
    addRevolute(world, upper, fore, { x: 0, y: cfg.upperArmM, z: 0 }, o, zAxis, { ...g[2]!, limits: lim[2], target: q0[2] }),
    addRevolute(world, fore, hand, { x: 0, y: cfg.forearmM, z: 0 }, o, zAxis, { ...g[3]!, limits: lim[3], target: q0[3] }),
  ].map((j) => j.handle);

  // Fingers: bodies at the slide origin (pads at ±s), colliders offset outward by half their thickness.
  const hp = poses[3]!;
  const fingers: number[] = [], fingerJoints: number[] = [], pads: number[] = [];
  for (const side of [1, -1]) {
    const local = { x: 0, y: FINGER_Y, z: side * cfg.fingerOpenM };
    const wp = addV(hp.p, rotateQ(hp.q, local));
    const f = addBody(world, { p: wp, q: hp.q, angularDamping: 0.5 });
    f.setGravityScale(0, false);
    const c = addCollider(world, f, { kind: 'box', halfExtentsM: [FINGER_HALF.x, FINGER_HALF.y, FINGER_HALF.z] }, {
      p: { x: 0, y: 0, z: side * FINGER_HALF.z }, massKg: m.finger, friction: cfg.fingerFriction, groups: GROUPS.finger,
    });
    const j = addPrismatic(world, hand, f, { x: 0, y: FINGER_Y, z: 0 }, o, { x: 0, y: 0, z: side }, {
      ...cfg.finger, limits: [0, cfg.fingerOpenM], target: cfg.fingerOpenM,
    });
    fingers.push(f.handle); fingerJoints.push(j.handle); pads.push(c.handle); colliders.push(c.handle);
  }
  return { base: base.handle, links: [turret.handle, upper.handle, fore.handle, hand.handle], fingers, joints, fingerJoints, pads, colliders };
}

function rotateQ(q: Q, v: Vec3): Vec3 {
  const ux = q.y * v.z - q.z * v.y, uy = q.z * v.x - q.x * v.z, uz = q.x * v.y - q.y * v.x;
  const tx = 2 * ux, ty = 2 * uy, tz = 2 * uz;
  return {
    x: v.x + q.w * tx + (q.y * tz - q.z * ty),
    y: v.y + q.w * ty + (q.z * tx - q.x * tz),
    z: v.z + q.w * tz + (q.x * ty - q.y * tx),
  };
}
const addV = (a: Vec3, b: Vec3): Vec3 => ({ x: a.x + b.x, y: a.y + b.y, z: a.z + b.z });

/** Length of an action for the arm's `actionSpace`: 5 (joint) or 4 (cartesian). */
export const actionDim = (cfg: ArmConfig): number => (cfg.actionSpace === 'cartesian' ? 4 : 5);

/** Grasp-point target (metres) → normalised cartesian action entries [x, y, z, gripper]. */
export function pointToAction(cfg: ArmConfig, p: Vec3, gripper: number, out = new Float32Array(4)): Float32Array {
  const v = [p.x, p.y, p.z];
  for (let i = 0; i < 3; i++) {
    const [lo, hi] = cfg.cartesianBoxM[i]!;
    out[i] = clamp(((v[i]! - lo) / (hi - lo)) * 2 - 1, -1, 1);
  }
  out[3] = clamp(gripper, -1, 1);
  return out;
}

/** A commanded grasp point + gripper → the action in the arm's `actionSpace` (how the scripted experts act). */
export function commandToAction(cfg: ArmConfig, p: Vec3, gripper: number): Float32Array {
  return cfg.actionSpace === 'cartesian' ? pointToAction(cfg, p, gripper) : jointsToAction(cfg, ikTopDown(cfg, p), gripper);
}

/** Set the motor targets from a normalised action (already clamped to [-1, 1] by the env), in the arm's `actionSpace`. */
export function applyArmAction(world: World, arm: ArmHandles, cfg: ArmConfig, action: Float32Array): void {
  let q: number[], grip: number;
  if (cfg.actionSpace === 'cartesian') {
    const m = (i: number): number => { const [lo, hi] = cfg.cartesianBoxM[i]!; return lo + ((action[i]! + 1) / 2) * (hi - lo); };
    q = ikTopDown(cfg, { x: m(0), y: m(1), z: m(2) });
    grip = action[3]!;
  } else {
    q = [0, 1, 2, 3].map((i) => { const [lo, hi] = cfg.limitsRad[i]!; return lo + ((action[i]! + 1) / 2) * (hi - lo); });
    grip = action[4]!;
  }
  for (let i = 0; i < 4; i++) {
    const g = cfg.gains[i]!;
    setMotorTarget(world, arm.joints[i]!, q[i]!, g.stiffness, g.damping);
  }
  const s = cfg.fingerOpenM * (1 - grip) / 2;
  for (const j of arm.fingerJoints) setMotorTarget(world, j, s, cfg.finger.stiffness, cfg.finger.damping);
}

// --- read-outs ----------------------------------------------------------------------------------------------------

export interface ArmState {
  /** yaw, shoulder, elbow, wrist, rad. */
  q: number[];
  /** Joint rates, rad/s. */
  qd: number[];
  /** Finger slide positions [left, right], metres from the centre plane (pads). */
  finger: number[];
  /** Finger slide rates, m/s. */
  fingerVel: number[];
}

const Y_AXIS = { x: 0, y: 1, z: 0 };
const NZ_AXIS = { x: 0, y: 0, z: -1 };

export function armState(world: World, arm: ArmHandles): ArmState {
  return armStateAndHand(world, arm).state;
}

/** Joint state plus the hand's pose (each body is read once: this runs every control step). */
function armStateAndHand(world: World, arm: ArmHandles): { state: ArmState; hp: Vec3; hq: Q } {
  const q: number[] = [], qd: number[] = [];
  // The base is fixed with identity orientation.
  let pq: Q = { x: 0, y: 0, z: 0, w: 1 }, pw: Vec3 = { x: 0, y: 0, z: 0 };
  let hand = world.getRigidBody(arm.links[3]!);
  for (let i = 0; i < 4; i++) {
    const b = world.getRigidBody(arm.links[i]!);
    if (i === 3) hand = b;
    const cq = b.rotation(), cw = b.angvel();
    const axis = i === 0 ? Y_AXIS : NZ_AXIS;
    const rel = qmul({ x: -pq.x, y: -pq.y, z: -pq.z, w: pq.w }, cq);
    let angle = 2 * Math.atan2(rel.x * axis.x + rel.y * axis.y + rel.z * axis.z, rel.w);
    if (angle > Math.PI) angle -= 2 * Math.PI; else if (angle < -Math.PI) angle += 2 * Math.PI;
    const axW = rotateQ(pq, axis);
    q.push(angle);
    qd.push((cw.x - pw.x) * axW.x + (cw.y - pw.y) * axW.y + (cw.z - pw.z) * axW.z);
    pq = cq; pw = cw;
  }
  const hp = hand.translation(), hq = pq, hv = hand.linvel();
  const zW = rotateQ(hq, { x: 0, y: 0, z: 1 });
  const anchor = addV(hp, rotateQ(hq, { x: 0, y: FINGER_Y, z: 0 }));
  const finger: number[] = [], fingerVel: number[] = [];
  for (let k = 0; k < 2; k++) {
    const side = k === 0 ? 1 : -1;
    const f = world.getRigidBody(arm.fingers[k]!);
    const t = f.translation(), v = f.linvel();
    finger.push(side * ((t.x - anchor.x) * zW.x + (t.y - anchor.y) * zW.y + (t.z - anchor.z) * zW.z));
    fingerVel.push(side * ((v.x - hv.x) * zW.x + (v.y - hv.y) * zW.y + (v.z - hv.z) * zW.z));
  }
  return { state: { q, qd, finger, fingerVel }, hp: { x: hp.x, y: hp.y, z: hp.z }, hq };
}

/** World position of the grasp point (between the finger pads), from the hand body's pose. */
export function graspPoint(world: World, arm: ArmHandles, cfg: ArmConfig): Vec3 {
  const hand = world.getRigidBody(arm.links[3]!);
  return addV(hand.translation(), rotateQ(hand.rotation(), { x: 0, y: cfg.handToGraspM, z: 0 }));
}

/** Names of the proprioceptive state vector (see `proprioVector`). */
export const PROPRIO_NAMES = [
  'q_yaw', 'q_shoulder', 'q_elbow', 'q_wrist',
  'qd_yaw', 'qd_shoulder', 'qd_elbow', 'qd_wrist',
  'gripper_opening', 'gripper_rate',
  'grasp_x', 'grasp_y', 'grasp_z',
] as const;

/** observation.state: joint angles (rad), rates (rad/s), gripper opening (m, pad to pad) and its rate, grasp point (m). */
export function proprioVector(world: World, arm: ArmHandles, cfg: ArmConfig, out = new Float32Array(PROPRIO_NAMES.length)): Float32Array {
  const { state: s, hp, hq } = armStateAndHand(world, arm);
  for (let i = 0; i < 4; i++) { out[i] = s.q[i]!; out[4 + i] = s.qd[i]!; }
  out[8] = s.finger[0]! + s.finger[1]!;
  out[9] = s.fingerVel[0]! + s.fingerVel[1]!;
  const g = addV(hp, rotateQ(hq, { x: 0, y: cfg.handToGraspM, z: 0 }));
  out[10] = g.x; out[11] = g.y; out[12] = g.z;
  return out;
}

/** Style entries for the arm's colliders. */
export function armStyle(arm: ArmHandles, handle: number): { name: string; color: string } | undefined {
  const i = arm.colliders.indexOf(handle);
  if (i < 0) return undefined;
  const names = ['pedestal', 'turret', 'upper_arm', 'forearm', 'hand', 'finger_left', 'finger_right'];
  return { name: names[i] ?? `arm${i}`, color: i >= 5 ? '#f0c040' : i === 0 ? '#555a60' : '#d0d4da' };
}
