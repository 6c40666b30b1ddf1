/**
 * The humanoid's static description: 13 rigid bodies, 12 joints, 21 actuated degrees of freedom, and the maths that
 * turns joint angles into body poses (forward kinematics) and back.
 *
 * Frames: metres, +Y up, the humanoid faces +X at yaw 0, so its right side is +Z. In the default pose (all joint angles
 * 0: standing straight, arms hanging) every body has the identity rotation and its origin at the joint to its parent
 * (the root, the pelvis, has its origin at the pelvis centre). Joint frames are the identity in both bodies, so every
 * joint's axes are the parent body's local X (roll/abduction), Y (yaw/twist) and Z (pitch/flexion) axes.
 *
 * Joint angle convention (the one Rapier's joint motors and limits use): with q_rel = conj(q_parent) ⊗ q_child
 * (w ≥ 0), the angle about free axis k is 2·asin(q_rel.imag[k]). Locked axes have imag = 0, so a joint's relative
 * rotation is q_rel = (sin(ax/2), sin(ay/2), sin(az/2), sqrt(1 − Σ sin²)). For a single free axis this is the exact
 * rotation angle; for several it is a smooth coupled parameterisation. FK and the observation use the same formula,
 * so a pose set from angles reads back the same angles.
 *
 * Signs (right side; the left side mirrors the abduction signs): hip/shoulder Z > 0 swings the limb forward; knee Z
 * < 0 bends the knee; elbow Z > 0 bends the elbow; lumbar Z < 0 bends the trunk forward; right hip/shoulder X < 0
 * abducts (moves the limb outward, to +Z).
 */

export type BodyName =
  | 'pelvis' | 'waist' | 'torso'
  | 'r_thigh' | 'r_shin' | 'r_foot' | 'l_thigh' | 'l_shin' | 'l_foot'
  | 'r_uarm' | 'r_larm' | 'l_uarm' | 'l_larm';

/** PD gain groups (config: `humanoid.pd.<group>`). */
export type JointGroup = 'spine' | 'hip' | 'knee' | 'ankle' | 'shoulder' | 'elbow';

export type Shape =
  | { kind: 'capsule'; radiusM: number; halfHeightM: number; /** capsule axis in the body frame */ axis: 'x' | 'y' | 'z' }
  | { kind: 'sphere'; radiusM: number }
  | { kind: 'box'; halfExtentsM: [number, number, number] };

export interface ColliderDef {
  /** Part name (for the viewer and contact look-ups): e.g. 'head' and 'r_hand' ride on torso / r_larm. */
  part: string;
  shape: Shape;
  /** Offset of the collider centre from the body origin (body frame), metres. */
  offsetM: [number, number, number];
  massKg: number;
}

export interface BodyDef {
  name: BodyName;
  /** Parent body index (−1 for the root). */
  parent: number;
  /** Body origin in the default pose with the root at (0, 0, 0)... expressed relative to the ground: see DEFAULT_ROOT_HEIGHT_M. */
  originM: [number, number, number];
  colliders: ColliderDef[];
}

export interface DofDef {
  name: string;
  /** Index of the joint (= index of the child body − 1) this DoF belongs to. */
  body: number;
  /** Axis in the parent frame: 0 = X (roll), 1 = Y (yaw), 2 = Z (pitch). */
  axis: 0 | 1 | 2;
  /** Joint limits (rad). */
  lo: number;
  hi: number;
  group: JointGroup;
}

/** Pelvis origin height in the default pose when the soles touch y = 0. */
export const DEFAULT_ROOT_HEIGHT_M = 0.96;

const cap = (radiusM: number, halfHeightM: number, axis: 'x' | 'y' | 'z' = 'y'): Shape => ({ kind: 'capsule', radiusM, halfHeightM, axis });

/** Bodies in creation order (parents before children). World origins in the default pose, soles at y = 0. */
export const BODIES: readonly BodyDef[] = [
  { name: 'pelvis', parent: -1, originM: [0, 0.96, 0], colliders: [{ part: 'pelvis', shape: cap(0.09, 0.06, 'z'), offsetM: [0, 0, 0], massKg: 10 }] },
  { name: 'waist', parent: 0, originM: [0, 1.05, 0], colliders: [{ part: 'waist', shape: cap(0.08, 0.05, 'z'), offsetM: [0, 0.08, 0], massKg: 6 }] },
  {
    name: 'torso', parent: 1, originM: [0, 1.2, 0], colliders: [
      { part: 'torso', shape: cap(0.1, 0.06, 'z'), offsetM: [0, 0.13, 0], massKg: 16 },
      { part: 'head', shape: { kind: 'sphere', radiusM: 0.1 }, offsetM: [0, 0.39, 0], massKg: 5 },
    ],
  },
  { name: 'r_thigh', parent: 0, originM: [0, 0.92, 0.09], colliders: [{ part: 'r_thigh', shape: cap(0.065, 0.13), offsetM: [0, -0.2, 0], massKg: 8 }] },
  { name: 'r_shin', parent: 3, originM: [0, 0.5, 0.09], colliders: [{ part: 'r_shin', shape: cap(0.05, 0.14), offsetM: [0, -0.21, 0], massKg: 3.5 }] },
  { name: 'r_foot', parent: 4, originM: [0, 0.08, 0.09], colliders: [{ part: 'r_foot', shape: { kind: 'box', halfExtentsM: [0.11, 0.03, 0.045] }, offsetM: [0.03, -0.05, 0], massKg: 2.5 }] },
  { name: 'l_thigh', parent: 0, originM: [0, 0.92, -0.09], colliders: [{ part: 'l_thigh', shape: cap(0.065, 0.13), offsetM: [0, -0.2, 0], massKg: 8 }] },
  { name: 'l_shin', parent: 6, originM: [0, 0.5, -0.09], colliders: [{ part: 'l_shin', shape: cap(0.05, 0.14), offsetM: [0, -0.21, 0], massKg: 3.5 }] },
  { name: 'l_foot', parent: 7, originM: [0, 0.08, -0.09], colliders: [{ part: 'l_foot', shape: { kind: 'box', halfExtentsM: [0.11, 0.03, 0.045] }, offsetM: [0.03, -0.05, 0], massKg: 2.5 }] },
  { name: 'r_uarm', parent: 2, originM: [0, 1.4, 0.22], colliders: [{ part: 'r_uarm', shape: cap(0.045, 0.09), offsetM: [0, -0.14, 0], massKg: 2 }] },
  {
    name: 'r_larm', parent: 9, originM: [0, 1.12, 0.22], colliders: [
      { part: 'r_larm', shape: cap(0.04, 0.085), offsetM: [0, -0.125, 0], massKg: 1.3 },
      { part: 'r_hand', shape: { kind: 'sphere', radiusM: 0.045 }, offsetM: [0, -0.3, 0], massKg: 0.5 },
    ],
  },
  { name: 'l_uarm', parent: 2, originM: [0, 1.4, -0.22], colliders: [{ part: 'l_uarm', shape: cap(0.045, 0.09), offsetM: [0, -0.14, 0], massKg: 2 }] },
  {
    name: 'l_larm', parent: 11, originM: [0, 1.12, -0.22], colliders: [
      { part: 'l_larm', shape: cap(0.04, 0.085), offsetM: [0, -0.125, 0], massKg: 1.3 },
      { part: 'l_hand', shape: { kind: 'sphere', radiusM: 0.045 }, offsetM: [0, -0.3, 0], massKg: 0.5 },
    ],
  },
];

export const NUM_BODIES = BODIES.length; // 13
export const BODY_INDEX: Readonly<Record<BodyName, number>> = Object.fromEntries(BODIES.map((b, i) => [b.name, i])) as Record<BodyName, number>;
export const TOTAL_MASS_KG = BODIES.reduce((s, b) => s + b.colliders.reduce((t, c) => t + c.massKg, 0), 0);

/** The 21 actuated DoF, in action/observation order. `body` is the child body of the joint. */
export const DOFS: readonly DofDef[] = [
  { name: 'lumbar_pitch', body: 1, axis: 2, lo: -0.9, hi: 0.5, group: 'spine' },
  { name: 'lumbar_roll', body: 1, axis: 0, lo: -0.4, hi: 0.4, group: 'spine' },
  { name: 'chest_yaw', body: 2, axis: 1, lo: -0.6, hi: 0.6, group: 'spine' },
  { name: 'r_hip_pitch', body: 3, axis: 2, lo: -0.5, hi: 1.8, group: 'hip' },
  { name: 'r_hip_roll', body: 3, axis: 0, lo: -0.8, hi: 0.3, group: 'hip' },
  { name: 'r_hip_yaw', body: 3, axis: 1, lo: -0.6, hi: 0.6, group: 'hip' },
  { name: 'r_knee', body: 4, axis: 2, lo: -2.4, hi: 0.05, group: 'knee' },
  { name: 'r_ankle_pitch', body: 5, axis: 2, lo: -0.8, hi: 0.7, group: 'ankle' },
  { name: 'r_ankle_roll', body: 5, axis: 0, lo: -0.4, hi: 0.4, group: 'ankle' },
  { name: 'l_hip_pitch', body: 6, axis: 2, lo: -0.5, hi: 1.8, group: 'hip' },
  { name: 'l_hip_roll', body: 6, axis: 0, lo: -0.3, hi: 0.8, group: 'hip' },
  { name: 'l_hip_yaw', body: 6, axis: 1, lo: -0.6, hi: 0.6, group: 'hip' },
  { name: 'l_knee', body: 7, axis: 2, lo: -2.4, hi: 0.05, group: 'knee' },
  { name: 'l_ankle_pitch', body: 8, axis: 2, lo: -0.8, hi: 0.7, group: 'ankle' },
  { name: 'l_ankle_roll', body: 8, axis: 0, lo: -0.4, hi: 0.4, group: 'ankle' },
  { name: 'r_shoulder_pitch', body: 9, axis: 2, lo: -1.0, hi: 2.6, group: 'shoulder' },
  { name: 'r_shoulder_roll', body: 9, axis: 0, lo: -1.6, hi: 0.35, group: 'shoulder' },
  { name: 'r_elbow', body: 10, axis: 2, lo: -0.05, hi: 2.5, group: 'elbow' },
  { name: 'l_shoulder_pitch', body: 11, axis: 2, lo: -1.0, hi: 2.6, group: 'shoulder' },
  { name: 'l_shoulder_roll', body: 11, axis: 0, lo: -0.35, hi: 1.6, group: 'shoulder' },
  { name: 'l_elbow', body: 12, axis: 2, lo: -0.05, hi: 2.5, group: 'elbow' },
];
export const NUM_DOFS = DOFS.length; // 21
export const DOF_INDEX: Readonly<Record<string, number>> = Object.fromEntries(DOFS.map((d, i) => [d.name, i]));

/** For each body (child of a joint), its DoF indices per axis [x, y, z] (−1 = locked). Root: all −1. */
export const BODY_AXIS_DOF: readonly (readonly [number, number, number])[] = BODIES.map((_, bi) => {
  const out: [number, number, number] = [-1, -1, -1];
  DOFS.forEach((d, i) => { if (d.body === bi) out[d.axis] = i; });
  return out;
});

/** Offset of each body's origin from its parent's origin in the default pose (parent frame; identity rotations). */
export const JOINT_OFFSET_M: readonly (readonly [number, number, number])[] = BODIES.map((b) => {
  if (b.parent < 0) return [0, 0, 0] as const;
  const p = BODIES[b.parent]!.originM;
  return [b.originM[0] - p[0], b.originM[1] - p[1], b.originM[2] - p[2]] as const;
});

/**
 * Action ↔ PD target. a = 0 is the default pose (angle 0), a = +1 the upper limit, a = −1 the lower limit,
 * piecewise linear in between (so zero action holds the default pose).
 */
export function actionToTarget(i: number, a: number): number {
  const d = DOFS[i]!;
  return a >= 0 ? a * d.hi : -a * d.lo;
}

export function targetToAction(i: number, q: number): number {
  const d = DOFS[i]!;
  const a = q >= 0 ? (d.hi > 0 ? q / d.hi : 0) : (d.lo < 0 ? -q / d.lo : 0);
  return a < -1 ? -1 : a > 1 ? 1 : a;
}

// --- quaternion maths on flat arrays (x, y, z, w), allocation-free ---------------------------------------------

/** out[o..o+3] = a ⊗ b. */
export function qmul(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, out: Float64Array, o: number): void {
  const ax = a[ao]!, ay = a[ao + 1]!, az = a[ao + 2]!, aw = a[ao + 3]!;
  const bx = b[bo]!, by = b[bo + 1]!, bz = b[bo + 2]!, bw = b[bo + 3]!;
  out[o] = aw * bx + ax * bw + ay * bz - az * by;
  out[o + 1] = aw * by - ax * bz + ay * bw + az * bx;
  out[o + 2] = aw * bz + ax * by - ay * bx + az * bw;
  out[o + 3] = aw * bw - ax * bx - ay * by - az * bz;
}

/** Rotate (vx, vy, vz) by quaternion q[qo..], writing to out[o..o+2]. */
export function qrot(q: ArrayLike<number>, qo: number, vx: number, vy: number, vz: number, out: Float64Array, o: number): void {
  const x = q[qo]!, y = q[qo + 1]!, z = q[qo + 2]!, w = q[qo + 3]!;
  const tx = 2 * (y * vz - z * vy), ty = 2 * (z * vx - x * vz), tz = 2 * (x * vy - y * vx);
  out[o] = vx + w * tx + (y * tz - z * ty);
  out[o + 1] = vy + w * ty + (z * tx - x * tz);
  out[o + 2] = vz + w * tz + (x * ty - y * tx);
}

/** Rotate by the inverse of q. */
export function qrotInv(q: ArrayLike<number>, qo: number, vx: number, vy: number, vz: number, out: Float64Array, o: number): void {
  const x = -q[qo]!, y = -q[qo + 1]!, z = -q[qo + 2]!, w = q[qo + 3]!;
  const tx = 2 * (y * vz - z * vy), ty = 2 * (z * vx - x * vz), tz = 2 * (x * vy - y * vx);
  out[o] = vx + w * tx + (y * tz - z * ty);
  out[o + 1] = vy + w * ty + (z * tx - x * tz);
  out[o + 2] = vz + w * tz + (x * ty - y * tx);
}

/** Relative joint rotation from per-axis angles (see the file comment). */
export function jointQuat(ax: number, ay: number, az: number, out: Float64Array, o: number): void {
  const sx = Math.sin(ax / 2), sy = Math.sin(ay / 2), sz = Math.sin(az / 2);
  const s2 = sx * sx + sy * sy + sz * sz;
  const k = s2 > 1 ? 1 / Math.sqrt(s2) : 1;
  out[o] = sx * k; out[o + 1] = sy * k; out[o + 2] = sz * k;
  out[o + 3] = Math.sqrt(Math.max(0, 1 - s2 * k * k));
}

/** Heading (yaw about +Y, forward = +X) of quaternion q[qo..]. */
export function yawOfQ(q: ArrayLike<number>, qo: number): number {
  const x = q[qo]!, y = q[qo + 1]!, z = q[qo + 2]!, w = q[qo + 3]!;
  // forward = rotate(q, +X)
  const fx = 1 - 2 * (y * y + z * z), fz = 2 * (x * z - w * y);
  return Math.atan2(-fz, fx);
}

/** A pose of the whole humanoid: root position + orientation and the 21 joint angles. */
export interface HumanoidPose {
  rootPosM: [number, number, number];
  /** Root orientation (x, y, z, w). */
  rootQuat: [number, number, number, number];
  /** Joint angles (rad), DOFS order. */
  q: ArrayLike<number>;
}

/**
 * Forward kinematics: world position (3) and orientation (4) of each body origin, into `pos` (13×3) and `rot` (13×4).
 */
export function forwardKinematics(pose: HumanoidPose, pos: Float64Array, rot: Float64Array): void {
  const jq = new Float64Array(4), tmp = new Float64Array(3);
  pos[0] = pose.rootPosM[0]; pos[1] = pose.rootPosM[1]; pos[2] = pose.rootPosM[2];
  const rq = pose.rootQuat;
  const n = Math.hypot(rq[0], rq[1], rq[2], rq[3]) || 1;
  rot[0] = rq[0] / n; rot[1] = rq[1] / n; rot[2] = rq[2] / n; rot[3] = rq[3] / n;
  for (let b = 1; b < NUM_BODIES; b++) {
    const p = BODIES[b]!.parent;
    const ax = BODY_AXIS_DOF[b]!;
    jointQuat(ax[0] >= 0 ? pose.q[ax[0]]! : 0, ax[1] >= 0 ? pose.q[ax[1]]! : 0, ax[2] >= 0 ? pose.q[ax[2]]! : 0, jq, 0);
    qmul(rot, p * 4, jq, 0, rot, b * 4);
    const off = JOINT_OFFSET_M[b]!;
    qrot(rot, p * 4, off[0], off[1], off[2], tmp, 0);
    pos[b * 3] = pos[p * 3]! + tmp[0]!; pos[b * 3 + 1] = pos[p * 3 + 1]! + tmp[1]!; pos[b * 3 + 2] = pos[p * 3 + 2]! + tmp[2]!;
  }
}

/** World position of a point given in body `b`'s frame, from FK arrays. */
export function bodyPoint(pos: Float64Array, rot: Float64Array, b: number, lx: number, ly: number, lz: number, out: Float64Array, o: number): void {
  qrot(rot, b * 4, lx, ly, lz, out, o);
  out[o] += pos[b * 3]!; out[o + 1] += pos[b * 3 + 1]!; out[o + 2] += pos[b * 3 + 2]!;
}

/** Offsets of the hand centres (in their lower-arm body frames) and of the feet (sole centres in the foot frames). */
export const HAND_OFFSET_M: readonly [number, number, number] = [0, -0.3, 0];
export const FOOT_OFFSET_M: readonly [number, number, number] = [0.03, -0.08, 0];
export const HAND_RADIUS_M = 0.045;
/** End effectors used by the tracking reward: [body index, local offset]. */
export const END_EFFECTORS: readonly { name: string; body: number; offsetM: readonly [number, number, number] }[] = [
  { name: 'r_hand', body: BODY_INDEX.r_larm, offsetM: HAND_OFFSET_M },
  { name: 'l_hand', body: BODY_INDEX.l_larm, offsetM: HAND_OFFSET_M },
  { name: 'r_foot', body: BODY_INDEX.r_foot, offsetM: FOOT_OFFSET_M },
  { name: 'l_foot', body: BODY_INDEX.l_foot, offsetM: FOOT_OFFSET_M },
];
