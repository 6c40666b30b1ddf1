/**
 * Multi-axis ImpulseJoints with one PD position motor per free angular axis.
 *
 * Rapier's JS API only exposes per-axis motors on `SphericalImpulseJoint`, but the underlying joint set configures
 * motors and limits per axis on any joint, so we build *generic* joints (all linear axes locked, the chosen angular
 * axes free) and drive the free axes through the joint set. Checked against Rapier 0.21: the motor/limit angle about
 * axis k is 2·asin(q_rel.imag[k]) with q_rel the relative rotation of the two joint frames (see skeleton.ts).
 * No Rapier import here: the module comes from `rapier()` in sim/physics (the one place that imports it).
 * (Candidate to move into sim/physics as a general helper.)
 */
import { rapier, type RigidBody, type V3, type World } from '../../sim/physics/index.ts';

/** Raw joint-set calls we use (typed locally; `World.impulseJoints.raw` in Rapier). */
interface RawJointSet {
  jointConfigureMotorModel(handle: number, axis: number, model: number): void;
  jointConfigureMotorPosition(handle: number, axis: number, targetPos: number, stiffness: number, damping: number): void;
  jointSetMotorMaxForce(handle: number, axis: number, maxForce: number): void;
  jointSetLimits(handle: number, axis: number, min: number, max: number): void;
}

export function rawJoints(world: World): RawJointSet {
  return (world.impulseJoints as unknown as { raw: RawJointSet }).raw;
}

/** Rapier's JointAxis index of angular axis k (0 = X, 1 = Y, 2 = Z). */
export const ANG_AXIS = [3, 4, 5] as const;

export interface AxisMotor {
  axis: 0 | 1 | 2;
  lo: number;
  hi: number;
  stiffness: number;
  damping: number;
  /** Max torque (N·m); ≤ 0 = unlimited. */
  maxTorqueNm: number;
}

/**
 * A joint between `a` and `b` that keeps the anchors together, leaves the listed angular axes (body-frame X/Y/Z; joint
 * frames are the identity) free with limits and PD position motors (target 0), and disables contacts between the two
 * bodies (adjacent parts never collide). Returns the joint handle.
 */
export function addMotorJoint(world: World, a: RigidBody, b: RigidBody, anchorA: V3, anchorB: V3, motors: readonly AxisMotor[]): number {
  const R = rapier();
  const M = R.JointAxesMask;
  let locked = M.LinX | M.LinY | M.LinZ | M.AngX | M.AngY | M.AngZ;
  const angMask = [M.AngX, M.AngY, M.AngZ];
  for (const m of motors) locked &= ~angMask[m.axis]!;
  const data = R.JointData.generic(anchorA, anchorB, { x: 1, y: 0, z: 0 }, locked);
  const j = world.createImpulseJoint(data, a, b, true);
  j.setContactsEnabled(false);
  const raw = rawJoints(world);
  for (const m of motors) {
    const ax = ANG_AXIS[m.axis];
    raw.jointConfigureMotorModel(j.handle, ax, R.MotorModel.ForceBased);
    raw.jointConfigureMotorPosition(j.handle, ax, 0, m.stiffness, m.damping);
    if (m.maxTorqueNm > 0) raw.jointSetMotorMaxForce(j.handle, ax, m.maxTorqueNm);
    raw.jointSetLimits(j.handle, ax, m.lo, m.hi);
  }
  return j.handle;
}

interface RawManifold { num_contacts(): number; contact_impulse(i: number): number; free(): void }
interface RawPair { numContactManifolds(): number; contactManifold(i: number): RawManifold | undefined; free(): void }
interface RawNarrowPhase { contact_pair(h1: number, h2: number): RawPair | undefined }

/**
 * Tactile read-out on the raw narrow phase: total normal contact force (N) between two colliders during the last
 * physics step (Σ contact impulses / dt). Same value as sim/sensors `contactForceN` restricted to one pair, but without
 * the JS wrapper objects (this runs every control step).
 */
export function pairContactForceN(world: World, collider1: number, collider2: number): number {
  const np = (world.narrowPhase as unknown as { raw: RawNarrowPhase }).raw;
  const pair = np.contact_pair(collider1, collider2);
  if (!pair) return 0;
  let impulse = 0;
  const n = pair.numContactManifolds();
  for (let i = 0; i < n; i++) {
    const m = pair.contactManifold(i);
    if (!m) continue;
    const k = m.num_contacts();
    for (let j = 0; j < k; j++) impulse += m.contact_impulse(j);
    m.free();
  }
  pair.free();
  return impulse / world.timestep;
}
