/**
 * The articulated humanoid shared by the humanoid tasks: config (PD gains per joint group, friction, fall limits,
 * perturbations), building it in a Rapier world, reading its state once per step, the proprioceptive observation, the
 * fall check and random pushes.
 *
 * Per-step cost: `readState` makes one pass over the 13 bodies (4 reads each) into preallocated Float64Arrays; the
 * observation, rewards and the fall check then work on those arrays only.
 */
import type { Ranges } from '../../sim/core/config.ts';
import type { Rng } from '../../sim/math/rng.ts';
import { addBody, addCollider, type RigidBody, type ShapeSpec, type World } from '../../sim/physics/index.ts';
import { addMotorJoint, ANG_AXIS, pairContactForceN, rawJoints } from './joints.ts';
import {
  BODIES, BODY_AXIS_DOF, BODY_INDEX, DOFS, JOINT_OFFSET_M, NUM_BODIES, NUM_DOFS, TOTAL_MASS_KG,
  actionToTarget, forwardKinematics, qmul, qrot, qrotInv, yawOfQ, type HumanoidPose, type JointGroup,
} from './skeleton.ts';

/** Ranges of the humanoid config fields a derived range would get wrong (iteration counts are small integers). */
export const HUMANOID_RANGES: Ranges = {
  'humanoid.solverIterations': { min: 1, max: 64, int: true },
  'humanoid.pgsIterations': { min: 1, max: 64, int: true },
  'humanoid.push.atStep': { min: -1, max: 1_000_000, int: true },
};

export interface PdGains {
  /** Position gain, N·m/rad. */
  stiffness: number;
  /** Velocity gain, N·m·s/rad. */
  damping: number;
  /** Torque limit, N·m (≤ 0: unlimited). */
  maxTorqueNm: number;
}

export interface PushConfig {
  /** Random pushes on/off. */
  enabled: boolean;
  /** Mean time between pushes (exponentially distributed), seconds. */
  meanIntervalSec: number;
  /** Impulse magnitude drawn uniformly from this range, N·s (horizontal, random direction). */
  impulseNs: [number, number];
  /** Bodies that can be pushed (one is picked per push). */
  bodies: string[];
  /** If ≥ 0: one push of impulseNs[1] exactly at this control step (tests, recovery sets), besides random ones. */
  atStep: number;
}

export interface HumanoidConfig {
  /** Rapier solver iterations per physics step (PGS convergence is what lets PD joints hold 70 kg through light feet). */
  solverIterations: number;
  /** Rapier internal PGS iterations per solver iteration (cheaper than solver iterations for the same stiffness). */
  pgsIterations: number;
  /** PD gains per joint group (every DoF of a group shares them). */
  pd: Record<JointGroup, PdGains>;
  /**
   * Foot contacts in the observation: true = tactile (normal contact force with the ground from the contact graph, in
   * body weights); false = geometric (fraction of sole corners within 1 cm of the ground; ~30 µs/step cheaper).
   */
  tactileFeet: boolean;
  /** Friction coefficient of the feet. */
  footFriction: number;
  /** Friction coefficient of the other body parts (hands touching objects use this). */
  bodyFriction: number;
  /** Ground friction coefficient. */
  groundFriction: number;
  /** Fall: pelvis height below this (m) ⇒ terminated with reason 'fell'. */
  fallMinRootHeightM: number;
  /** Fall: torso tilt from vertical above this (deg) ⇒ terminated with reason 'fell'. */
  fallMaxTiltDeg: number;
  /** Initial joint-angle noise: each DoF gets U(−x, x) rad (clamped to its limits) at reset. */
  initJointNoiseRad: number;
  /** PD gain noise: every DoF's stiffness and damping × U(1 − x, 1 + x), drawn per episode. */
  pdGainNoise: number;
  /** Random pushes on the torso/arms. */
  push: PushConfig;
}

export function defaultHumanoidConfig(): HumanoidConfig {
  return {
    solverIterations: 2,
    pgsIterations: 6,
    pd: {
      spine: { stiffness: 1000, damping: 70, maxTorqueNm: 400 },
      hip: { stiffness: 700, damping: 50, maxTorqueNm: 400 },
      knee: { stiffness: 600, damping: 45, maxTorqueNm: 350 },
      ankle: { stiffness: 1200, damping: 60, maxTorqueNm: 300 },
      shoulder: { stiffness: 400, damping: 30, maxTorqueNm: 150 },
      elbow: { stiffness: 300, damping: 20, maxTorqueNm: 100 },
    },
    tactileFeet: true,
    footFriction: 1.0,
    bodyFriction: 0.9,
    groundFriction: 1.0,
    fallMinRootHeightM: 0.55,
    fallMaxTiltDeg: 60,
    initJointNoiseRad: 0.02,
    pdGainNoise: 0,
    push: { enabled: false, meanIntervalSec: 2, impulseNs: [10, 30], bodies: ['torso', 'r_uarm', 'l_uarm'], atStep: -1 },
  };
}

/** Collision groups: membership << 16 | filter. Humanoid parts collide with everything (adjacent pairs are excluded by their joints). */
export const GROUP_GROUND = (0x0001 << 16) | 0xffff;
export const GROUP_HUMANOID = (0x0002 << 16) | 0xffff;
export const GROUP_OBJECT = (0x0004 << 16) | 0xffff;

/** Scene-state part of the humanoid (plain data; `$s` is the runtime read-out cache, rebuilt by `rebindHumanoid`). */
export interface HumanoidState {
  /** Rigid-body handles, BODIES order. */
  bodies: number[];
  /** Joint handle per body (index 0, the root, has none: −1). */
  joints: number[];
  /** Collider handle → part name (for the viewer and contacts). */
  parts: Record<string, number>;
  groundCollider: number;
  /** Per-DoF PD gains after gain noise. */
  kp: number[];
  kd: number[];
  /** Current PD targets (rad), DOFS order. */
  target: number[];
  /** Previous action (for the action-rate term). */
  prevAction: number[];
  /** Control steps taken. */
  t: number;
  /** Control step of the next random push (−1: none scheduled). */
  nextPushStep: number;
  /** Foot contacts from the tactile sensor (else geometric), from the config. */
  tactileFeet: boolean;
  $s?: HumanoidReadout;
  /** Runtime cache of the RigidBody wrappers (rebuilt after restore). */
  $bodies?: RigidBody[];
}

/** Everything read from the world once per step (world frame unless noted). */
export interface HumanoidReadout {
  pos: Float64Array; // 13×3
  rot: Float64Array; // 13×4
  lin: Float64Array; // 13×3
  ang: Float64Array; // 13×3
  /** (lin: index 0 = root only.) Joint angles (rad) and velocities (rad/s), DOFS order. */
  q: Float64Array;
  qd: Float64Array;
  /** Normal contact force of each foot with the ground, in body weights. */
  footForce: Float64Array; // [right, left]
  scratch: Float64Array;
}

function newReadout(): HumanoidReadout {
  return {
    pos: new Float64Array(NUM_BODIES * 3), rot: new Float64Array(NUM_BODIES * 4), lin: new Float64Array(NUM_BODIES * 3),
    ang: new Float64Array(NUM_BODIES * 3), q: new Float64Array(NUM_DOFS), qd: new Float64Array(NUM_DOFS),
    footForce: new Float64Array(2), scratch: new Float64Array(16),
  };
}

function shapeSpec(s: (typeof BODIES)[number]['colliders'][number]['shape']): { spec: ShapeSpec; q?: { x: number; y: number; z: number; w: number } } {
  const h = Math.SQRT1_2;
  switch (s.kind) {
    case 'sphere': return { spec: { kind: 'sphere', radiusM: s.radiusM } };
    case 'box': return { spec: { kind: 'box', halfExtentsM: s.halfExtentsM } };
    case 'capsule': {
      const spec: ShapeSpec = { kind: 'capsule', radiusM: s.radiusM, halfHeightM: s.halfHeightM };
      if (s.axis === 'z') return { spec, q: { x: h, y: 0, z: 0, w: h } };
      if (s.axis === 'x') return { spec, q: { x: 0, y: 0, z: h, w: h } };
      return { spec };
    }
  }
}

/**
 * Create the humanoid in `pose` (bodies in BODIES order, then the joints). PD targets start at the pose's joint angles.
 * `groundCollider` is the ground's collider handle (for foot contacts).
 */
export function buildHumanoid(world: World, cfg: HumanoidConfig, pose: HumanoidPose, groundCollider: number, rng: Rng): HumanoidState {
  world.numSolverIterations = cfg.solverIterations;
  world.numInternalPgsIterations = cfg.pgsIterations;
  const pos = new Float64Array(NUM_BODIES * 3), rot = new Float64Array(NUM_BODIES * 4);
  forwardKinematics(pose, pos, rot);
  const bodies: number[] = [], parts: Record<string, number> = {};
  const rb = [];
  for (let b = 0; b < NUM_BODIES; b++) {
    const body = addBody(world, {
      p: { x: pos[b * 3]!, y: pos[b * 3 + 1]!, z: pos[b * 3 + 2]! },
      q: { x: rot[b * 4]!, y: rot[b * 4 + 1]!, z: rot[b * 4 + 2]!, w: rot[b * 4 + 3]! },
    });
    for (const c of BODIES[b]!.colliders) {
      const { spec, q } = shapeSpec(c.shape);
      const isFoot = c.part.endsWith('_foot');
      const col = addCollider(world, body, spec, {
        massKg: c.massKg, p: { x: c.offsetM[0], y: c.offsetM[1], z: c.offsetM[2] }, q,
        friction: isFoot ? cfg.footFriction : cfg.bodyFriction, groups: GROUP_HUMANOID,
      });
      parts[c.part] = col.handle;
    }
    bodies.push(body.handle);
    rb.push(body);
  }
  const kp: number[] = [], kd: number[] = [];
  for (let i = 0; i < NUM_DOFS; i++) {
    const g = cfg.pd[DOFS[i]!.group];
    const nk = cfg.pdGainNoise > 0 ? rng.uniform(1 - cfg.pdGainNoise, 1 + cfg.pdGainNoise) : 1;
    const nd = cfg.pdGainNoise > 0 ? rng.uniform(1 - cfg.pdGainNoise, 1 + cfg.pdGainNoise) : 1;
    kp.push(g.stiffness * nk);
    kd.push(g.damping * nd);
  }
  const joints: number[] = [-1];
  for (let b = 1; b < NUM_BODIES; b++) {
    const off = JOINT_OFFSET_M[b]!;
    const motors = [];
    for (let k = 0; k < 3; k++) {
      const i = BODY_AXIS_DOF[b]![k]!;
      if (i < 0) continue;
      const d = DOFS[i]!;
      motors.push({ axis: k as 0 | 1 | 2, lo: d.lo, hi: d.hi, stiffness: kp[i]!, damping: kd[i]!, maxTorqueNm: cfg.pd[d.group].maxTorqueNm });
    }
    joints.push(addMotorJoint(world, rb[BODIES[b]!.parent]!, rb[b]!, { x: off[0], y: off[1], z: off[2] }, { x: 0, y: 0, z: 0 }, motors));
  }
  const h: HumanoidState = {
    bodies, joints, parts, groundCollider, kp, kd,
    target: Array.from({ length: NUM_DOFS }, (_, i) => pose.q[i] ?? 0),
    prevAction: new Array<number>(NUM_DOFS).fill(0), t: 0, nextPushStep: -1, tactileFeet: cfg.tactileFeet,
  };
  applyTargets(world, h);
  return h;
}

/** Send the current PD targets (and per-DoF gains) to the joint motors. */
export function applyTargets(world: World, h: HumanoidState): void {
  const raw = rawJoints(world);
  for (let i = 0; i < NUM_DOFS; i++) {
    const d = DOFS[i]!;
    raw.jointConfigureMotorPosition(h.joints[d.body]!, ANG_AXIS[d.axis], h.target[i]!, h.kp[i]!, h.kd[i]!);
  }
}

/** Normalised action → PD targets (see skeleton.ts `actionToTarget`), remembered for the action-rate term. */
export function setActionTargets(world: World, h: HumanoidState, action: Float32Array): void {
  for (let i = 0; i < NUM_DOFS; i++) h.target[i] = actionToTarget(i, action[i]!);
  applyTargets(world, h);
}

/** Recreate the runtime read-out cache (after build or restore) and fill it. */
export function rebindHumanoid(world: World, h: HumanoidState): HumanoidReadout {
  h.$s = newReadout();
  h.$bodies = undefined;
  readState(world, h);
  return h.$s;
}

/** The read-out cache (creating it if needed). */
export function readout(world: World, h: HumanoidState): HumanoidReadout {
  return h.$s ?? rebindHumanoid(world, h);
}

/** Tactile read-out: normal contact force (N) between two colliders during the last physics step. */
export { pairContactForceN };
const contactForce = pairContactForceN;

const TMP_V = { x: 0, y: 0, z: 0 };
const TMP_Q = { x: 0, y: 0, z: 0, w: 1 };

/**
 * One pass over the bodies (the per-step read-out): rotation and angular velocity of every body, position and linear
 * velocity of the root only (28 reads, no allocations); the other bodies' positions follow by forward kinematics from
 * the root and the rotations (the joints keep the anchors together up to the solver's joint error, ~1 mm). Then joint
 * angles/velocities and the foot contact forces. `lin` holds the root's velocity only.
 */
export function readState(world: World, h: HumanoidState): void {
  const s = h.$s ?? (h.$s = newReadout());
  const { pos, rot, lin, ang, scratch } = s;
  const bodies = h.$bodies ?? (h.$bodies = h.bodies.map((hb) => world.getRigidBody(hb)));
  for (let b = 0; b < NUM_BODIES; b++) {
    const body = bodies[b]!;
    const r = body.rotation(TMP_Q);
    rot[b * 4] = r.x; rot[b * 4 + 1] = r.y; rot[b * 4 + 2] = r.z; rot[b * 4 + 3] = r.w;
    const w = body.angvel(TMP_V);
    ang[b * 3] = w.x; ang[b * 3 + 1] = w.y; ang[b * 3 + 2] = w.z;
  }
  const t = bodies[0]!.translation(TMP_V);
  pos[0] = t.x; pos[1] = t.y; pos[2] = t.z;
  const v = bodies[0]!.linvel(TMP_V);
  lin[0] = v.x; lin[1] = v.y; lin[2] = v.z;
  for (let b = 1; b < NUM_BODIES; b++) {
    const p = BODIES[b]!.parent, off = JOINT_OFFSET_M[b]!;
    qrot(rot, p * 4, off[0], off[1], off[2], scratch, 12);
    pos[b * 3] = pos[p * 3]! + scratch[12]!; pos[b * 3 + 1] = pos[p * 3 + 1]! + scratch[13]!; pos[b * 3 + 2] = pos[p * 3 + 2]! + scratch[14]!;
  }
  computeJointState(s);
  if (h.tactileFeet) {
    s.footForce[0] = contactForce(world, h.parts.r_foot!, h.groundCollider) / (TOTAL_MASS_KG * 9.81);
    s.footForce[1] = contactForce(world, h.parts.l_foot!, h.groundCollider) / (TOTAL_MASS_KG * 9.81);
  } else {
    s.footForce[0] = soleContact(s, BODY_INDEX.r_foot);
    s.footForce[1] = soleContact(s, BODY_INDEX.l_foot);
  }
}

const SOLE_CORNERS: readonly (readonly [number, number, number])[] = (() => {
  const c = BODIES[BODY_INDEX.r_foot]!.colliders[0]!;
  const he = (c.shape as { halfExtentsM: [number, number, number] }).halfExtentsM;
  const y = c.offsetM[1] - he[1];
  return [[c.offsetM[0] - he[0], y, -he[2]], [c.offsetM[0] - he[0], y, he[2]], [c.offsetM[0] + he[0], y, -he[2]], [c.offsetM[0] + he[0], y, he[2]]];
})();

/**
 * Geometric sole contact (no contact-graph query): fraction of the 4 sole corners within SOLE_CONTACT_M of the ground
 * (0, 0.25, …, 1). Used when `humanoid.tactileFeet` is off.
 */
function soleContact(s: HumanoidReadout, foot: number): number {
  let n = 0;
  for (const c of SOLE_CORNERS) {
    qrot(s.rot, foot * 4, c[0], c[1], c[2], s.scratch, 12);
    if (s.pos[foot * 3 + 1]! + s.scratch[13]! < SOLE_CONTACT_M) n++;
  }
  return n / 4;
}
const SOLE_CONTACT_M = 0.01;

/** Joint angles and velocities from body rotations and angular velocities (see skeleton.ts for the convention). */
export function computeJointState(s: HumanoidReadout): void {
  const { rot, ang, q, qd, scratch } = s;
  for (let b = 1; b < NUM_BODIES; b++) {
    const p = BODIES[b]!.parent;
    // q_rel = conj(q_p) ⊗ q_b
    scratch[0] = -rot[p * 4]!; scratch[1] = -rot[p * 4 + 1]!; scratch[2] = -rot[p * 4 + 2]!; scratch[3] = rot[p * 4 + 3]!;
    qmul(scratch, 0, rot, b * 4, scratch, 4);
    const sg = scratch[7]! < 0 ? -1 : 1;
    qrotInv(rot, p * 4, ang[b * 3]! - ang[p * 3]!, ang[b * 3 + 1]! - ang[p * 3 + 1]!, ang[b * 3 + 2]! - ang[p * 3 + 2]!, scratch, 8);
    const ax = BODY_AXIS_DOF[b]!;
    for (let k = 0; k < 3; k++) {
      const i = ax[k]!;
      if (i < 0) continue;
      let v = sg * scratch[4 + k]!;
      v = v > 1 ? 1 : v < -1 ? -1 : v;
      q[i] = 2 * Math.asin(v);
      qd[i] = scratch[8 + k]!;
    }
  }
}

/** Size of the proprioceptive block of `observation.state`. */
export const PROPRIO_SIZE = 1 + 6 + 3 + 3 + NUM_DOFS + NUM_DOFS + 2;

export function proprioNames(): string[] {
  return [
    'root_height',
    'root_fwd_x', 'root_fwd_y', 'root_fwd_z', 'root_up_x', 'root_up_y', 'root_up_z',
    'root_vel_x', 'root_vel_y', 'root_vel_z', 'root_angvel_x', 'root_angvel_y', 'root_angvel_z',
    ...DOFS.map((d) => `q_${d.name}`), ...DOFS.map((d) => `qd_${d.name}`),
    'contact_r_foot', 'contact_l_foot',
  ];
}

/**
 * Write the proprioceptive observation at out[o..]: root height; root forward and up axes in the heading frame (yaw
 * removed); root linear and angular velocity in the heading frame; joint angles; joint velocities; foot contact forces
 * (body weights). Returns the heading yaw.
 */
export function writeProprio(s: HumanoidReadout, out: Float32Array, o: number): number {
  const { pos, rot, lin, ang, q, qd, scratch } = s;
  const yaw = yawOfQ(rot, 0);
  // heading quaternion conj: rotation by −yaw about Y
  scratch[0] = 0; scratch[1] = -Math.sin(yaw / 2); scratch[2] = 0; scratch[3] = Math.cos(yaw / 2);
  qmul(scratch, 0, rot, 0, scratch, 4); // root rotation in the heading frame
  out[o++] = pos[1]!;
  qrot(scratch, 4, 1, 0, 0, scratch, 8);
  out[o++] = scratch[8]!; out[o++] = scratch[9]!; out[o++] = scratch[10]!;
  qrot(scratch, 4, 0, 1, 0, scratch, 8);
  out[o++] = scratch[8]!; out[o++] = scratch[9]!; out[o++] = scratch[10]!;
  qrot(scratch, 0, lin[0]!, lin[1]!, lin[2]!, scratch, 8);
  out[o++] = scratch[8]!; out[o++] = scratch[9]!; out[o++] = scratch[10]!;
  qrot(scratch, 0, ang[0]!, ang[1]!, ang[2]!, scratch, 8);
  out[o++] = scratch[8]!; out[o++] = scratch[9]!; out[o++] = scratch[10]!;
  for (let i = 0; i < NUM_DOFS; i++) out[o++] = q[i]!;
  for (let i = 0; i < NUM_DOFS; i++) out[o++] = qd[i]!;
  out[o++] = s.footForce[0]!; out[o++] = s.footForce[1]!;
  return yaw;
}

/** Cosine of the torso's tilt from vertical (1 = upright). */
export function torsoUpright(s: HumanoidReadout): number {
  const r = s.rot, o = BODY_INDEX.torso * 4;
  const x = r[o]!, z = r[o + 2]!;
  return 1 - 2 * (x * x + z * z); // y component of rotate(q, +Y)
}

/** 'fell' when the pelvis is too low or the torso tilts too far, else null. */
export function fallReason(s: HumanoidReadout, cfg: HumanoidConfig): string | null {
  if (s.pos[1]! < cfg.fallMinRootHeightM) return 'fell';
  if (torsoUpright(s) < Math.cos((cfg.fallMaxTiltDeg * Math.PI) / 180)) return 'fell';
  return null;
}

/** Mechanical power of the PD motors, Σ |τ·q̇| (W), with τ the PD law's torque (clamped to the torque limit). */
export function motorPowerW(h: HumanoidState, s: HumanoidReadout, cfg: HumanoidConfig): number {
  let p = 0;
  for (let i = 0; i < NUM_DOFS; i++) {
    let tau = h.kp[i]! * (h.target[i]! - s.q[i]!) - h.kd[i]! * s.qd[i]!;
    const lim = cfg.pd[DOFS[i]!.group].maxTorqueNm;
    if (lim > 0) tau = tau > lim ? lim : tau < -lim ? -lim : tau;
    p += Math.abs(tau * s.qd[i]!);
  }
  return p;
}

/** Σ (a − a_prev)²; then remembers `action` as the previous one. */
export function actionRate(h: HumanoidState, action: Float32Array): number {
  let r = 0;
  for (let i = 0; i < NUM_DOFS; i++) {
    const d = action[i]! - h.prevAction[i]!;
    r += d * d;
    h.prevAction[i] = action[i]!;
  }
  return r;
}

/** Apply a horizontal impulse (N·s) in direction `dirRad` (about +Y, 0 = +X) to a body. */
export function pushBody(world: World, h: HumanoidState, bodyName: string, impulseNs: number, dirRad: number): void {
  const bi = (BODY_INDEX as Record<string, number>)[bodyName];
  if (bi === undefined) throw new Error(`humanoid: unknown body '${bodyName}' to push (known: ${BODIES.map((b) => b.name).join(', ')})`);
  world.getRigidBody(h.bodies[bi]!).applyImpulse({ x: impulseNs * Math.cos(dirRad), y: 0, z: -impulseNs * Math.sin(dirRad) }, true);
}

/** Scheduled and random pushes; call once per control step after the substeps (h.t already advanced). */
export function maybePush(world: World, h: HumanoidState, cfg: HumanoidConfig, ctrlDtSec: number, rng: Rng): string | null {
  const p = cfg.push;
  let pushed: string | null = null;
  if (p.atStep >= 0 && h.t === p.atStep) {
    const body = p.bodies[0] ?? 'torso';
    pushBody(world, h, body, p.impulseNs[1], rng.uniform(-Math.PI, Math.PI));
    pushed = body;
  }
  if (!p.enabled) return pushed;
  if (h.nextPushStep < 0) h.nextPushStep = h.t + 1 + Math.floor(-Math.log(1 - rng.next()) * p.meanIntervalSec / ctrlDtSec);
  if (h.t >= h.nextPushStep) {
    const body = rng.pick(p.bodies);
    pushBody(world, h, body, rng.uniform(p.impulseNs[0], p.impulseNs[1]), rng.uniform(-Math.PI, Math.PI));
    h.nextPushStep = -1;
    pushed = body;
  }
  return pushed;
}

/** Default pose (all joint angles 0) standing at (x, z) with heading `yawRad`, plus optional joint noise. */
export function standingPose(x: number, z: number, yawRad: number, q?: ArrayLike<number>): HumanoidPose {
  return {
    rootPosM: [x, BODIES[0]!.originM[1], z],
    rootQuat: [0, Math.sin(yawRad / 2), 0, Math.cos(yawRad / 2)],
    q: q ?? new Float64Array(NUM_DOFS),
  };
}

/** Joint noise U(−x, x) clamped to limits. */
export function noisyJoints(rng: Rng, noiseRad: number): Float64Array {
  const q = new Float64Array(NUM_DOFS);
  if (noiseRad > 0) for (let i = 0; i < NUM_DOFS; i++) {
    const d = DOFS[i]!;
    const v = rng.uniform(-noiseRad, noiseRad);
    q[i] = v < d.lo ? d.lo : v > d.hi ? d.hi : v;
  }
  return q;
}

/** Viewer colours per part. */
export function partColor(part: string): string {
  if (part === 'head') return '#f0c8a0';
  if (part.endsWith('_hand')) return '#f0c8a0';
  if (part.endsWith('_foot')) return '#404650';
  if (part.startsWith('r_')) return '#5b8fd9';
  if (part.startsWith('l_')) return '#7fb06a';
  return '#c9b27a';
}
