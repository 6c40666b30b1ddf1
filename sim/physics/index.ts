/**
 * The one place that touches Rapier (`@dimforge/rapier3d-deterministic-compat`, the cross-platform deterministic WASM
 * build). Everything else gets the module from `rapier()` after `initPhysics()` and uses the helpers below.
 *
 * Conventions: metres, kilograms, seconds; +Y up; gravity −9.81 m/s² along Y.
 * Articulated bodies use ImpulseJoints with position motors (multibody joints are slower here, lack motors in the JS
 * API, and 2-DoF generic multibody joints crash).
 * Lifetimes: a World owns WASM memory; free it with `world.free()` in a `finally`. `restoreWorld` returns a *new*
 * World: re-fetch bodies/colliders by handle afterwards (keep handles, not objects, in scene state).
 */
import RAPIER_NS from '@dimforge/rapier3d-deterministic-compat';

export type Rapier = typeof RAPIER_NS;
export type World = InstanceType<Rapier['World']>;
export type RigidBody = InstanceType<Rapier['RigidBody']>;
export type Collider = InstanceType<Rapier['Collider']>;
export type ImpulseJoint = InstanceType<Rapier['ImpulseJoint']>;
export type RigidBodyDesc = InstanceType<Rapier['RigidBodyDesc']>;
export type ColliderDesc = InstanceType<Rapier['ColliderDesc']>;
export type Ray = InstanceType<Rapier['Ray']>;
export type V3 = { x: number; y: number; z: number };
export type Q4 = { x: number; y: number; z: number; w: number };

let ready: Promise<Rapier> | null = null;
let mod: Rapier | null = null;

/** Initialise the WASM module once per thread; later calls return the same promise. */
export function initPhysics(): Promise<Rapier> {
  if (!ready) {
    ready = RAPIER_NS.init().then(() => {
      mod = RAPIER_NS;
      return RAPIER_NS;
    });
  }
  return ready;
}

/** The initialised Rapier module. Throws if `initPhysics()` has not resolved yet. */
export function rapier(): Rapier {
  if (!mod) throw new Error('physics: call `await initPhysics()` before building worlds');
  return mod;
}

/** Engine identifier recorded in recordings and checkpoints. */
export function engineVersion(): string {
  return `rapier3d-deterministic-compat@${rapier().version()}`;
}

export const GRAVITY = { x: 0, y: -9.81, z: 0 } as const;

/** A new world with a fixed physics step. */
export function createWorld(simDtSec: number, opts: { gravity?: V3; solverIterations?: number } = {}): World {
  const R = rapier();
  const world = new R.World(opts.gravity ?? GRAVITY);
  world.timestep = simDtSec;
  if (opts.solverIterations) world.numSolverIterations = opts.solverIterations;
  return world;
}

/** Whole-world state as bytes (bodies, colliders, joints, contacts, solver caches). */
export function snapshotWorld(world: World): Uint8Array {
  return world.takeSnapshot();
}

/** A new World identical to the one the snapshot was taken from. The caller frees the old one. */
export function restoreWorld(bytes: Uint8Array): World {
  const w = rapier().World.restoreSnapshot(bytes);
  if (!w) throw new Error('physics: world snapshot is corrupt');
  return w;
}

/**
 * Make a freshly built world visible to scene queries (ray casts): Rapier builds its query structures during a step,
 * so before the first `step()` a ray hits nothing. A step of length 0 updates them without moving anything.
 */
export function refreshSceneQueries(world: World): void {
  const dt = world.timestep;
  world.timestep = 0;
  try { world.step(); } finally { world.timestep = dt; }
}

/**
 * True when any dynamic body has a non-finite or absurd (> 1e6 m) position — a physics blow-up. Rapier zeroes NaN/inf
 * velocities itself, so a blow-up shows in positions; reading only translations keeps this cheap on the hot path.
 */
export function worldDiverged(world: World): boolean {
  let bad = false;
  world.forEachRigidBody((b) => {
    if (bad || b.isFixed()) return;
    const t = b.translation();
    if (!(Math.abs(t.x) < 1e6 && Math.abs(t.y) < 1e6 && Math.abs(t.z) < 1e6)) bad = true;
  });
  return bad;
}

// --- builders ---------------------------------------------------------------------------------------------------

export interface BodyOpts {
  /** World position of the body origin, metres. */
  p?: V3;
  q?: Q4;
  /** 'dynamic' (default), 'fixed' or 'kinematic' (position-based). */
  type?: 'dynamic' | 'fixed' | 'kinematic';
  linearDamping?: number;
  angularDamping?: number;
  /** Continuous collision detection for fast small bodies. */
  ccd?: boolean;
  canSleep?: boolean;
  /** Gravity multiplier (0 = the body's weight is compensated, e.g. by an arm's own controller). */
  gravityScale?: number;
  /**
   * Mass properties set explicitly (then give the body's colliders `density: 0` so they add nothing): mass, centre
   * of mass in the body frame, principal moments of inertia and the rotation of the principal axes in the body frame.
   */
  massProps?: { massKg: number; comM: V3; principalInertiaKgM2: V3; inertiaFrame: Q4 };
}

export function addBody(world: World, o: BodyOpts = {}): RigidBody {
  const R = rapier();
  const d = o.type === 'fixed' ? R.RigidBodyDesc.fixed() : o.type === 'kinematic' ? R.RigidBodyDesc.kinematicPositionBased() : R.RigidBodyDesc.dynamic();
  if (o.p) d.setTranslation(o.p.x, o.p.y, o.p.z);
  if (o.q) d.setRotation(o.q);
  if (o.linearDamping !== undefined) d.setLinearDamping(o.linearDamping);
  if (o.angularDamping !== undefined) d.setAngularDamping(o.angularDamping);
  if (o.ccd) d.setCcdEnabled(true);
  d.setCanSleep(o.canSleep ?? false);
  if (o.gravityScale !== undefined) d.setGravityScale(o.gravityScale);
  if (o.massProps) {
    const m = o.massProps;
    d.setAdditionalMassProperties(m.massKg, m.comM, m.principalInertiaKgM2, m.inertiaFrame);
  }
  return world.createRigidBody(d);
}

export interface ColliderOpts {
  /** Mass in kg (sets density from the shape's volume); default density 1000 kg/m³. */
  massKg?: number;
  /** Density in kg/m³ (0: the collider adds no mass — the body's `massProps` say it all). Ignored with massKg. */
  density?: number;
  friction?: number;
  restitution?: number;
  /** Offset of the collider in the body frame. */
  p?: V3;
  q?: Q4;
  /** Rapier collision groups bitmask (membership << 16 | filter). */
  groups?: number;
  sensor?: boolean;
  /** Report contact forces for tactile sensing. */
  contactForceEvents?: boolean;
}

export type ShapeSpec =
  | { kind: 'box'; halfExtentsM: [number, number, number] }
  | { kind: 'sphere'; radiusM: number }
  | { kind: 'capsule'; radiusM: number; halfHeightM: number }
  | { kind: 'cylinder'; radiusM: number; halfHeightM: number }
  /** Convex hull of a point cloud (x, y, z per point, metres, collider frame); `colliderDesc` throws if degenerate. */
  | { kind: 'convexHull'; pointsM: Float32Array };

export function colliderDesc(shape: ShapeSpec, o: ColliderOpts = {}): ColliderDesc {
  const R = rapier();
  let d: ColliderDesc;
  switch (shape.kind) {
    case 'box': d = R.ColliderDesc.cuboid(...shape.halfExtentsM); break;
    case 'sphere': d = R.ColliderDesc.ball(shape.radiusM); break;
    case 'capsule': d = R.ColliderDesc.capsule(shape.halfHeightM, shape.radiusM); break;
    case 'cylinder': d = R.ColliderDesc.cylinder(shape.halfHeightM, shape.radiusM); break;
    case 'convexHull': {
      const h = R.ColliderDesc.convexHull(shape.pointsM);
      if (!h) throw new Error(`physics: the convex hull of ${shape.pointsM.length / 3} points is degenerate (flat or too few points)`);
      d = h;
      break;
    }
  }
  if (o.massKg !== undefined) d.setMass(o.massKg);
  else if (o.density !== undefined) d.setDensity(o.density);
  if (o.friction !== undefined) d.setFriction(o.friction);
  if (o.restitution !== undefined) d.setRestitution(o.restitution);
  if (o.p) d.setTranslation(o.p.x, o.p.y, o.p.z);
  if (o.q) d.setRotation(o.q);
  if (o.groups !== undefined) d.setCollisionGroups(o.groups);
  if (o.sensor) d.setSensor(true);
  if (o.contactForceEvents) d.setActiveEvents(R.ActiveEvents.CONTACT_FORCE_EVENTS);
  return d;
}

export function addCollider(world: World, body: RigidBody | null, shape: ShapeSpec, o: ColliderOpts = {}): Collider {
  return world.createCollider(colliderDesc(shape, o), body ?? undefined);
}

/** A fixed ground: a large thin box whose top face is y = 0. */
export function addGround(world: World, o: { halfSizeM?: number; friction?: number } = {}): Collider {
  const h = o.halfSizeM ?? 50;
  const body = addBody(world, { type: 'fixed', p: { x: 0, y: -0.05, z: 0 } });
  return addCollider(world, body, { kind: 'box', halfExtentsM: [h, 0.05, h] }, { friction: o.friction ?? 1.0 });
}

export interface MotorOpts {
  /** Position gain (N·m/rad or N/m). */
  stiffness: number;
  /** Velocity gain (N·m·s/rad or N·s/m). */
  damping: number;
  /** Joint limits [lo, hi] (rad or m). */
  limits?: [number, number];
  /** Initial motor target. */
  target?: number;
  /** Max motor force/torque; unlimited when omitted. */
  maxForce?: number;
}

function configureMotor(j: ImpulseJoint, m: MotorOpts): void {
  const R = rapier();
  const u = j as unknown as InstanceType<Rapier['UnitImpulseJoint']>;
  u.configureMotorModel(R.MotorModel.ForceBased);
  u.configureMotorPosition(m.target ?? 0, m.stiffness, m.damping);
  if (m.maxForce !== undefined) u.setMotorMaxForce?.(m.maxForce);
}

/** A hinge about `axis` (in both bodies' frames) with a PD position motor. Anchors are in each body's local frame. */
export function addRevolute(world: World, a: RigidBody, b: RigidBody, anchorA: V3, anchorB: V3, axis: V3, m: MotorOpts): ImpulseJoint {
  const R = rapier();
  const data = R.JointData.revolute(anchorA, anchorB, axis);
  if (m.limits) { data.limitsEnabled = true; data.limits = m.limits; }
  const j = world.createImpulseJoint(data, a, b, true);
  configureMotor(j, m);
  return j;
}

/**
 * Enforce position limits on a revolute/prismatic joint after it was created. Needed for revolute joints: rapier.js
 * 0.21 drops `JointData.limits` of a revolute descriptor (prismatic ones keep theirs), so `addRevolute`'s `limits`
 * alone leave the hinge unlimited.
 */
export function setJointLimits(world: World, jointHandle: number, lo: number, hi: number): void {
  const j = world.getImpulseJoint(jointHandle) as unknown as InstanceType<Rapier['UnitImpulseJoint']>;
  j.setLimits(lo, hi);
}

/** A slider along `axis` with a PD position motor. */
export function addPrismatic(world: World, a: RigidBody, b: RigidBody, anchorA: V3, anchorB: V3, axis: V3, m: MotorOpts): ImpulseJoint {
  const R = rapier();
  const data = R.JointData.prismatic(anchorA, anchorB, axis);
  if (m.limits) { data.limitsEnabled = true; data.limits = m.limits; }
  const j = world.createImpulseJoint(data, a, b, true);
  configureMotor(j, m);
  return j;
}

export function addFixedJoint(world: World, a: RigidBody, b: RigidBody, anchorA: V3, anchorB: V3, q?: Q4): ImpulseJoint {
  const R = rapier();
  const id = { x: 0, y: 0, z: 0, w: 1 };
  return world.createImpulseJoint(R.JointData.fixed(anchorA, q ?? id, anchorB, id), a, b, true);
}

/** Set a hinge/slider motor's target position (rad or m) and optionally new gains. */
export function setMotorTarget(world: World, jointHandle: number, target: number, stiffness: number, damping: number): void {
  const j = world.getImpulseJoint(jointHandle) as unknown as InstanceType<Rapier['UnitImpulseJoint']>;
  j.configureMotorPosition(target, stiffness, damping);
}

/** Current angle (rad) of a revolute joint about its axis, from the relative rotation of its two bodies. */
export function revoluteAngle(world: World, jointHandle: number): number {
  const j = world.getImpulseJoint(jointHandle) as unknown as InstanceType<Rapier['RevoluteImpulseJoint']>;
  const ang = (j as unknown as { angle?: () => number }).angle;
  if (typeof ang === 'function') return ang.call(j);
  throw new Error('physics: revolute joint angle unavailable');
}
