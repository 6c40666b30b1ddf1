/**
 * A checked `UrdfModel` → Rapier bodies, colliders and impulse joints (through sim/physics's builders), plus the
 * kinematics the scene needs: forward kinematics, joint read-outs and PD targets.
 *
 * Frames. URDF is +Z up; Stride is +Y up: with `upAxis: 'z'` the robot's root frame is turned −90° about X (URDF z →
 * world y, URDF y → world −z). Every Rapier body sits at its link's origin, and — the one trick here — every body has
 * the *root's* orientation when all joints are at 0. Then a joint's axis has the same coordinates in both bodies'
 * frames (which is what Rapier's revolute/prismatic joints assume) and joint angle 0 is the URDF's zero pose; colliders
 * and inertia are rotated into that body frame (`bodyFromLink`).
 *
 * Physics. Mass, centre of mass and inertia come from `<inertial>` only (colliders have density 0); a massless link on
 * a fixed joint (a tool frame) gets `minLinkMassKg`. Collision geometry becomes colliders — box, cylinder (URDF's Z
 * axis → Rapier's Y), sphere, mesh → convex hull; a mesh that cannot be read is skipped with a one-line warning.
 * Robot links do not collide with each other (URDF neighbours overlap at the joints), only with the world.
 * Joints: revolute (limits), continuous (no limits), prismatic (limits), fixed → Rapier impulse joints; every movable
 * joint has a force-based PD position motor with the gains of `jointGains` (from `<limit effort velocity>` unless the
 * gain table overrides), its force capped at the effort limit. A mimic joint's motor follows its leader's target.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import {
  quatConj, quatFromAxisAngle, quatMul, rotate, type Quat, type Vec3,
} from '../math/vec.ts';
import {
  addBody, addCollider, addFixedJoint, addPrismatic, addRevolute, setJointLimits, setMotorTarget, type ShapeSpec, type World,
} from '../physics/index.ts';
import { readMesh, resolveMeshPath, type MeshData } from './mesh.ts';
import { parseUrdf, symmetricEigen, UrdfError, type Tuple3, type UrdfGeometry, type UrdfJoint, type UrdfModel, type UrdfPose } from './urdf.ts';

/** PD gains of one joint. */
export interface GainSpec {
  /** Position gain, N·m/rad (N/m for prismatic). */
  stiffness: number;
  /** Velocity gain, N·m·s/rad (N·s/m). */
  damping: number;
}

/** How a URDF becomes a Rapier robot (the scene config's `robot` block carries these). */
export interface RobotBuildOptions {
  /** Weld the root link to the world (an arm on a table) instead of leaving it a free body (a floating base). */
  fixedBase: boolean;
  /** The URDF's up axis: 'z' (ROS convention; turned to Stride's +Y) or 'y' (already +Y up). */
  upAxis: 'z' | 'y';
  /** World position of the root link's origin, metres. */
  basePositionM: [number, number, number];
  /** Links have gravity scale 0 (the robot's own controller compensates its weight, as a real arm's does). */
  gravityCompensation: boolean;
  /** Default gains: stiffness = effort / saturationError (the motor saturates at this position error, rad or m). */
  saturationError: number;
  /** Default gains: damping = dampingFactor · effort / velocity (+ the URDF's `<dynamics damping>`): at the velocity limit the damping alone would use dampingFactor × the effort limit. */
  dampingFactor: number;
  /** Per-joint overrides of the PD gains, by joint name (the gain table). */
  gains: Record<string, GainSpec>;
  /** Effort (N·m) and velocity (rad/s) limits for a continuous joint whose URDF has no `<limit>`. */
  continuousDefaults: { effort: number; velocity: number };
  /** Mass given to massless links on fixed joints (tool frames), kg. */
  minLinkMassKg: number;
  /** Floor for principal moments of inertia (a point mass would lock rotation), kg·m². */
  minInertiaKgM2: number;
  /** Rapier collision groups of the robot's colliders (membership << 16 | filter). */
  collisionGroups: number;
  /** Extra folders searched for `package://` and relative mesh files. */
  meshDirs: string[];
}

export interface RobotLinkSpec {
  name: string;
  /** Index of the joint whose child this link is (-1 for the root). */
  parentJoint: number;
  /** Rotation taking body-frame vectors to link-frame vectors (constant; see the module comment). */
  linkFromBody: Quat;
}

export interface RobotJointSpec {
  name: string;
  type: UrdfJoint['type'];
  parentLink: number;
  childLink: number;
  /** Joint origin in the parent body's frame, metres. */
  anchorParent: Vec3;
  /** Unit axis in both bodies' frames. */
  axisBody: Vec3;
  /** Position range used for actions and targets: URDF limits, or [−π, π] for continuous joints. */
  rangeLo: number;
  rangeHi: number;
  /** Whether Rapier enforces `rangeLo..rangeHi` (false for continuous joints). */
  limited: boolean;
  effort: number;
  velocity: number;
  gains: GainSpec;
  /** Index of the joint this one mimics, with multiplier and offset. */
  mimic: { leader: number; multiplier: number; offset: number } | null;
}

/** A loaded robot: the URDF model, the derived specs and its meshes (shared, read-only). */
export interface Robot {
  model: UrdfModel;
  /** sha256 of the URDF text (recordings name the exact robot). */
  urdfSha256: string;
  links: RobotLinkSpec[];
  joints: RobotJointSpec[];
  /** Indices of the joints an action drives (movable, not mimic), in document order. */
  actuated: number[];
  /** Meshes by resolved path (null: unreadable, see `warnings`). */
  meshes: Map<string, MeshData | null>;
  /** One line per problem that did not stop the build (unreadable meshes, …). */
  warnings: string[];
  opts: RobotBuildOptions;
}

const Q_ID: Quat = { x: 0, y: 0, z: 0, w: 1 };
const v3 = (t: Tuple3): Vec3 => ({ x: t[0], y: t[1], z: t[2] });
const addV = (a: Vec3, b: Vec3): Vec3 => ({ x: a.x + b.x, y: a.y + b.y, z: a.z + b.z });
const subV = (a: Vec3, b: Vec3): Vec3 => ({ x: a.x - b.x, y: a.y - b.y, z: a.z - b.z });
const dotV = (a: Vec3, b: Vec3): number => a.x * b.x + a.y * b.y + a.z * b.z;
const crossV = (a: Vec3, b: Vec3): Vec3 => ({ x: a.y * b.z - a.z * b.y, y: a.z * b.x - a.x * b.z, z: a.x * b.y - a.y * b.x });

/** URDF roll-pitch-yaw (fixed axes X, then Y, then Z) → quaternion: Rz(yaw)·Ry(pitch)·Rx(roll). */
export function quatFromRpy(rpy: Tuple3): Quat {
  const [r, p, y] = rpy;
  const cr = Math.cos(r / 2), sr = Math.sin(r / 2), cp = Math.cos(p / 2), sp = Math.sin(p / 2), cy = Math.cos(y / 2), sy = Math.sin(y / 2);
  return {
    w: cr * cp * cy + sr * sp * sy,
    x: sr * cp * cy - cr * sp * sy,
    y: cr * sp * cy + sr * cp * sy,
    z: cr * cp * sy - sr * sp * cy,
  };
}

/** Rotation matrix (columns = rotated basis vectors, det +1) → unit quaternion. */
function quatFromColumns(m: number[][]): Quat {
  const [m00, m01, m02] = m[0]!, [m10, m11, m12] = m[1]!, [m20, m21, m22] = m[2]!;
  const tr = m00! + m11! + m22!;
  let q: Quat;
  if (tr > 0) {
    const s = Math.sqrt(tr + 1) * 2;
    q = { w: 0.25 * s, x: (m21! - m12!) / s, y: (m02! - m20!) / s, z: (m10! - m01!) / s };
  } else if (m00! > m11! && m00! > m22!) {
    const s = Math.sqrt(1 + m00! - m11! - m22!) * 2;
    q = { w: (m21! - m12!) / s, x: 0.25 * s, y: (m01! + m10!) / s, z: (m02! + m20!) / s };
  } else if (m11! > m22!) {
    const s = Math.sqrt(1 + m11! - m00! - m22!) * 2;
    q = { w: (m02! - m20!) / s, x: (m01! + m10!) / s, y: 0.25 * s, z: (m12! + m21!) / s };
  } else {
    const s = Math.sqrt(1 + m22! - m00! - m11!) * 2;
    q = { w: (m10! - m01!) / s, x: (m02! + m20!) / s, y: (m12! + m21!) / s, z: 0.25 * s };
  }
  const n = Math.hypot(q.x, q.y, q.z, q.w);
  return { x: q.x / n, y: q.y / n, z: q.z / n, w: q.w / n };
}

function quatToMatrix(q: Quat): number[][] {
  const c = (v: Vec3) => rotate(q, v);
  const ex = c({ x: 1, y: 0, z: 0 }), ey = c({ x: 0, y: 1, z: 0 }), ez = c({ x: 0, y: 0, z: 1 });
  return [[ex.x, ey.x, ez.x], [ex.y, ey.y, ez.y], [ex.z, ey.z, ez.z]];
}

const matMul = (a: number[][], b: number[][]): number[][] => a.map((r) => [0, 1, 2].map((j) => r[0]! * b[0]![j]! + r[1]! * b[1]![j]! + r[2]! * b[2]![j]!));

/** Root frame of the robot in the world: the up-axis turn (URDF z → world y). */
export function rootRotation(upAxis: 'z' | 'y'): Quat {
  return upAxis === 'z' ? { x: -Math.SQRT1_2, y: 0, z: 0, w: Math.SQRT1_2 } : { ...Q_ID };
}

export interface Pose { p: Vec3; q: Quat }
const compose = (a: Pose, b: Pose): Pose => ({ p: addV(a.p, rotate(a.q, b.p)), q: quatMul(a.q, b.q) });
const poseOf = (o: UrdfPose): Pose => ({ p: v3(o.xyz), q: quatFromRpy(o.rpy) });

const loaded = new Map<string, Robot>();

/** A warning line goes to stderr once per process (the same robot is built every reset). */
const warned = new Set<string>();
export function warnOnce(line: string): void {
  if (warned.has(line)) return;
  warned.add(line);
  process.stderr.write(`stride: warning: ${line}\n`);
}

/**
 * Read, check and prepare a URDF file (cached by path, content and options). Throws a one-line `UrdfError` for a bad
 * file; unreadable meshes are warnings in `robot.warnings`.
 */
export function loadRobot(file: string, opts: RobotBuildOptions): Robot {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UrdfError(`urdf ${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const sha = createHash('sha256').update(text).digest('hex');
  const key = `${path}\u0000${sha}\u0000${JSON.stringify(opts)}`;
  const hit = loaded.get(key);
  if (hit) return hit;
  const robot = prepareRobot(parseUrdf(text, file), sha, opts);
  loaded.set(key, robot);
  return robot;
}

/** Derive link/joint specs (body frames, axes, ranges, gains) and read the meshes of a parsed model. */
export function prepareRobot(model: UrdfModel, urdfSha256: string, opts: RobotBuildOptions): Robot {
  const linkIndex = new Map(model.links.map((l, i) => [l.name, i]));
  const jointIndex = new Map(model.joints.map((j, i) => [j.name, i]));
  const parentJoint = new Array<number>(model.links.length).fill(-1);
  model.joints.forEach((j, i) => { parentJoint[linkIndex.get(j.child)!] = i; });
  for (const name of Object.keys(opts.gains)) {
    if (!jointIndex.has(name)) throw new UrdfError(`urdf ${model.file}: the gain table names joint '${name}', which the URDF does not define`);
  }
  if (!opts.fixedBase) {
    const root = model.links.find((l) => l.name === model.root)!;
    if (!root.inertial || !(root.inertial.massKg > 0)) {
      throw new UrdfError(`urdf ${model.file}: line ${root.line}: <link name="${root.name}">: a floating base needs mass (give the root link an <inertial>, or keep robot.fixedBase=true)`);
    }
  }
  // Link rotations at the zero pose in the root frame; body frames all equal the root frame there.
  const zero = forwardKinematicsModel(model, parentJoint, linkIndex, () => 0, { p: { x: 0, y: 0, z: 0 }, q: { ...Q_ID } });
  const links: RobotLinkSpec[] = model.links.map((l, i) => ({ name: l.name, parentJoint: parentJoint[i]!, linkFromBody: quatConj(zero[i]!.q) }));
  const joints: RobotJointSpec[] = model.joints.map((j) => {
    const pi = linkIndex.get(j.parent)!, ci = linkIndex.get(j.child)!;
    const bodyFromParentLink = zero[pi]!.q;
    const anchorParent = rotate(bodyFromParentLink, v3(j.origin.xyz));
    const axisBody = rotate(zero[ci]!.q, v3(j.axis));
    const lim = j.limit ?? (j.continuousLimit ? { lower: -Math.PI, upper: Math.PI, ...j.continuousLimit } : { lower: -Math.PI, upper: Math.PI, ...opts.continuousDefaults });
    const effort = lim.effort, velocity = lim.velocity;
    const gains = opts.gains[j.name] ?? {
      stiffness: effort / opts.saturationError,
      damping: (opts.dampingFactor * effort) / velocity + j.damping,
    };
    return {
      name: j.name, type: j.type, parentLink: pi, childLink: ci, anchorParent, axisBody,
      rangeLo: lim.lower, rangeHi: lim.upper, limited: j.type === 'revolute' || j.type === 'prismatic',
      effort, velocity, gains, mimic: null,
    };
  });
  model.joints.forEach((j, i) => {
    if (j.mimic) joints[i]!.mimic = { leader: jointIndex.get(j.mimic.joint)!, multiplier: j.mimic.multiplier, offset: j.mimic.offset };
  });
  const actuated = joints.map((j, i) => (j.type !== 'fixed' && !j.mimic ? i : -1)).filter((i) => i >= 0);
  const meshes = new Map<string, MeshData | null>();
  const warnings: string[] = [];
  for (const l of model.links) {
    for (const s of [...l.collisions, ...l.visuals]) {
      if (s.geometry.kind !== 'mesh') continue;
      const path = resolveMeshPath(s.geometry.filename, model.file, opts.meshDirs);
      if (meshes.has(path)) continue;
      const r = readMesh(path);
      meshes.set(path, r.mesh);
      if (!r.mesh) warnings.push(`urdf ${model.file}: line ${s.line}: <link name="${l.name}">: mesh '${s.geometry.filename}' skipped: ${r.reason}`);
    }
  }
  return { model, urdfSha256, links, joints, actuated, meshes, warnings, opts };
}

/** Joint displacement as a transform (rotation about / translation along the axis in the joint frame). */
function jointMotion(j: UrdfJoint, q: number): Pose {
  const a = v3(j.axis);
  if (j.type === 'revolute' || j.type === 'continuous') return { p: { x: 0, y: 0, z: 0 }, q: quatFromAxisAngle(a, q) };
  if (j.type === 'prismatic') return { p: { x: a.x * q, y: a.y * q, z: a.z * q }, q: { ...Q_ID } };
  return { p: { x: 0, y: 0, z: 0 }, q: { ...Q_ID } };
}

function forwardKinematicsModel(model: UrdfModel, parentJoint: number[], linkIndex: Map<string, number>, qOf: (joint: number) => number, rootPose: Pose): Pose[] {
  const out: (Pose | null)[] = new Array(model.links.length).fill(null);
  const solve = (li: number): Pose => {
    const have = out[li];
    if (have) return have;
    const ji = parentJoint[li]!;
    let p: Pose;
    if (ji < 0) p = rootPose;
    else {
      const j = model.joints[ji]!;
      p = compose(compose(solve(linkIndex.get(j.parent)!), poseOf(j.origin)), jointMotion(j, qOf(ji)));
    }
    out[li] = p;
    return p;
  };
  for (let i = 0; i < model.links.length; i++) solve(i);
  return out as Pose[];
}

/** World pose of the root link. */
export function rootPose(robot: Robot): Pose {
  const b = robot.opts.basePositionM;
  return { p: { x: b[0], y: b[1], z: b[2] }, q: rootRotation(robot.opts.upAxis) };
}

/** Full joint vector (every URDF joint, document order) from actuated joint values; mimic joints follow. */
export function expandJoints(robot: Robot, actuatedQ: readonly number[]): number[] {
  const q = new Array<number>(robot.joints.length).fill(0);
  robot.actuated.forEach((ji, k) => { q[ji] = actuatedQ[k]!; });
  robot.joints.forEach((j, i) => { if (j.mimic) q[i] = j.mimic.multiplier * q[j.mimic.leader]! + j.mimic.offset; });
  return q;
}

/** World poses of every link's frame for a full joint vector. */
export function forwardKinematics(robot: Robot, q: readonly number[]): Pose[] {
  const linkIndex = new Map(robot.model.links.map((l, i) => [l.name, i]));
  return forwardKinematicsModel(robot.model, robot.links.map((l) => l.parentJoint), linkIndex, (j) => q[j] ?? 0, rootPose(robot));
}

/** Rapier handles of a built robot (plain numbers: safe in scene state). */
export interface RobotHandles {
  /** Body per link (document order). */
  bodies: number[];
  /** Impulse joint per URDF joint (document order). */
  joints: number[];
  /** Collision colliders per link. */
  colliders: number[][];
  /** Every collision collider → [collider handle, link index, index of its `<collision>` in the link]. */
  collisionOf: [number, number, number][];
  /** Visual-only colliders (sensor, no contacts) → [link index, visual index]: what the viewer draws as the link. */
  visuals: [number, number, number][];
}

function shapeOf(robot: Robot, g: UrdfGeometry): { shape: ShapeSpec; rot: Quat } | { mesh: string } {
  switch (g.kind) {
    case 'box': return { shape: { kind: 'box', halfExtentsM: [g.sizeM[0] / 2, g.sizeM[1] / 2, g.sizeM[2] / 2] }, rot: { ...Q_ID } };
    case 'sphere': return { shape: { kind: 'sphere', radiusM: g.radiusM }, rot: { ...Q_ID } };
    // URDF cylinders run along local Z, Rapier's along local Y: turn +90° about X (y → z).
    case 'cylinder': return { shape: { kind: 'cylinder', radiusM: g.radiusM, halfHeightM: g.lengthM / 2 }, rot: { x: Math.SQRT1_2, y: 0, z: 0, w: Math.SQRT1_2 } };
    case 'mesh': return { mesh: resolveMeshPath(g.filename, robot.model.file, robot.opts.meshDirs) };
  }
}

/** Mesh vertices with the URDF scale applied, as a flat Float32Array (for the convex hull). */
export function scaledPoints(mesh: MeshData, scale: Tuple3): Float32Array {
  const out = new Float32Array(mesh.positions.length);
  for (let i = 0; i < out.length; i += 3) {
    out[i] = mesh.positions[i]! * scale[0]; out[i + 1] = mesh.positions[i + 1]! * scale[1]; out[i + 2] = mesh.positions[i + 2]! * scale[2];
  }
  return out;
}

/**
 * Build the robot at joint positions `q` (full vector, see `expandJoints`). Bodies, then colliders, then joints are
 * created in document order, so the same robot and q give the same world bytes.
 */
export function buildRobot(world: World, robot: Robot, q: readonly number[]): RobotHandles {
  const o = robot.opts;
  for (const w of robot.warnings) warnOnce(w);
  const poses = forwardKinematics(robot, q);
  const bodies: number[] = [], colliders: number[][] = [], visuals: [number, number, number][] = [], collisionOf: [number, number, number][] = [];
  robot.model.links.forEach((l, li) => {
    const spec = robot.links[li]!;
    const isRoot = spec.parentJoint < 0;
    const fixed = isRoot && o.fixedBase;
    // Body orientation = link orientation · linkFromBody (equals the root's at the zero pose).
    const bodyQ = quatMul(poses[li]!.q, spec.linkFromBody);
    const bodyFromLink = quatConj(spec.linkFromBody);
    let massProps;
    if (!fixed) {
      const inr = l.inertial;
      const massKg = inr && inr.massKg > 0 ? inr.massKg : o.minLinkMassKg;
      const it = inr?.inertia ?? { ixx: 0, ixy: 0, ixz: 0, iyy: 0, iyz: 0, izz: 0 };
      const m = [[it.ixx, it.ixy, it.ixz], [it.ixy, it.iyy, it.iyz], [it.ixz, it.iyz, it.izz]];
      const { values, vectors } = symmetricEigen(m);
      const inertialRot = quatMul(bodyFromLink, quatFromRpy(inr?.origin.rpy ?? [0, 0, 0]));
      const frame = quatFromColumns(matMul(quatToMatrix(inertialRot), vectors));
      const floor = (x: number) => Math.max(x, o.minInertiaKgM2);
      massProps = {
        massKg,
        comM: rotate(bodyFromLink, v3(inr?.origin.xyz ?? [0, 0, 0])),
        principalInertiaKgM2: { x: floor(values[0]), y: floor(values[1]), z: floor(values[2]) },
        inertiaFrame: frame,
      };
    }
    const body = addBody(world, {
      type: fixed ? 'fixed' : 'dynamic', p: poses[li]!.p, q: bodyQ,
      gravityScale: o.gravityCompensation && !isRoot ? 0 : 1, angularDamping: 0.05, linearDamping: 0.01,
      ...(massProps ? { massProps } : {}),
    });
    bodies.push(body.handle);
    const place = (origin: UrdfPose, extra: Quat) => ({ p: rotate(bodyFromLink, v3(origin.xyz)), q: quatMul(quatMul(bodyFromLink, quatFromRpy(origin.rpy)), extra) });
    const cs: number[] = [];
    l.collisions.forEach((c, ci) => {
      const s = shapeOf(robot, c.geometry);
      let shape: ShapeSpec, rot: Quat;
      if ('mesh' in s) {
        const mesh = robot.meshes.get(s.mesh);
        if (!mesh) return;
        shape = { kind: 'convexHull', pointsM: scaledPoints(mesh, (c.geometry as { scale: Tuple3 }).scale) };
        rot = { ...Q_ID };
      } else ({ shape, rot } = s);
      const at = place(c.origin, rot);
      try {
        const handle = addCollider(world, body, shape, { p: at.p, q: at.q, density: 0, friction: 0.8, groups: o.collisionGroups }).handle;
        cs.push(handle);
        collisionOf.push([handle, li, ci]);
      } catch (e) {
        warnOnce(`urdf ${robot.model.file}: line ${c.line}: <link name="${l.name}">: collision mesh skipped: ${(e as Error).message}`);
      }
    });
    colliders.push(cs);
    // Mass properties now (Rapier would apply them at the next step), so a fresh world already has the URDF masses.
    body.recomputeMassPropertiesFromColliders();
    l.visuals.forEach((v, vi) => {
      // A sensor collider that touches nothing carries the visual's pose; the scene's style draws the real geometry.
      const s = shapeOf(robot, v.geometry);
      if ('mesh' in s && !robot.meshes.get(s.mesh)) return;
      const at = place(v.origin, 'mesh' in s ? { ...Q_ID } : s.rot);
      const c = addCollider(world, body, { kind: 'sphere', radiusM: 0.001 }, { p: at.p, q: at.q, density: 0, sensor: true, groups: 0 });
      visuals.push([c.handle, li, vi]);
    });
  });
  const joints = robot.joints.map((j, ji) => {
    const a = world.getRigidBody(bodies[j.parentLink]!), b = world.getRigidBody(bodies[j.childLink]!);
    // Anchor on the child: the joint origin moved back by the displacement along the axis (prismatic).
    const zero = { x: 0, y: 0, z: 0 };
    const motor = { stiffness: j.gains.stiffness, damping: j.gains.damping, maxForce: j.effort, target: q[ji] ?? 0 };
    switch (j.type) {
      case 'fixed': return addFixedJoint(world, a, b, j.anchorParent, zero).handle;
      case 'prismatic': return addPrismatic(world, a, b, j.anchorParent, zero, j.axisBody, { ...motor, limits: [j.rangeLo, j.rangeHi] }).handle;
      case 'revolute': {
        const handle = addRevolute(world, a, b, j.anchorParent, zero, j.axisBody, { ...motor, limits: [j.rangeLo, j.rangeHi] }).handle;
        setJointLimits(world, handle, j.rangeLo, j.rangeHi);
        return handle;
      }
      case 'continuous': return addRevolute(world, a, b, j.anchorParent, zero, j.axisBody, motor).handle;
    }
  });
  return { bodies, joints, colliders, collisionOf, visuals };
}

/** Clamp a joint target into its range (limited joints) and set the PD motor. */
export function setJointTarget(world: World, robot: Robot, h: RobotHandles, joint: number, target: number): void {
  const j = robot.joints[joint]!;
  const t = j.limited ? Math.min(j.rangeHi, Math.max(j.rangeLo, target)) : target;
  setMotorTarget(world, h.joints[joint]!, t, j.gains.stiffness, j.gains.damping);
}

/** Set targets of the actuated joints (values in rad / m); mimic joints follow their leaders. */
export function setActuatedTargets(world: World, robot: Robot, h: RobotHandles, targets: readonly number[]): void {
  const full = expandJoints(robot, targets);
  robot.joints.forEach((j, i) => { if (j.type !== 'fixed') setJointTarget(world, robot, h, i, full[i]!); });
}

/**
 * Joint positions (rad / m) and rates of the given joints, from the two bodies' poses (not Rapier's internal
 * angle, which is wrapped differently per joint type). Revolute angles are wrapped to (−π, π].
 */
export function readJoints(world: World, robot: Robot, h: RobotHandles, which: readonly number[] = robot.actuated): { q: number[]; qd: number[] } {
  const q: number[] = [], qd: number[] = [];
  for (const ji of which) {
    const j = robot.joints[ji]!;
    const a = world.getRigidBody(h.bodies[j.parentLink]!), b = world.getRigidBody(h.bodies[j.childLink]!);
    const qa = a.rotation(), qb = b.rotation();
    const axisW = rotate(qa, j.axisBody);
    if (j.type === 'prismatic') {
      const pa = a.translation(), pb = b.translation();
      const rel = rotate(quatConj(qa), subV(pb, pa));
      q.push(dotV(subV(rel, j.anchorParent), j.axisBody));
      const va = a.linvel(), vb = b.linvel(), wa = a.angvel();
      qd.push(dotV(subV(subV(vb, va), crossV(wa, subV(pb, pa))), axisW));
    } else {
      const rel = quatMul(quatConj(qa), qb);
      let ang = 2 * Math.atan2(rel.x * j.axisBody.x + rel.y * j.axisBody.y + rel.z * j.axisBody.z, rel.w);
      if (ang > Math.PI) ang -= 2 * Math.PI; else if (ang <= -Math.PI) ang += 2 * Math.PI;
      q.push(ang);
      const wa = a.angvel(), wb = b.angvel();
      qd.push(dotV(subV(wb, wa), axisW));
    }
  }
  return { q, qd };
}

/** World position of a link's origin (its body's translation). */
export function linkPosition(world: World, h: RobotHandles, link: number): Vec3 {
  const t = world.getRigidBody(h.bodies[link]!).translation();
  return { x: t.x, y: t.y, z: t.z };
}

/** Total URDF mass of the robot, kg (massless links count 0). */
export function totalMassKg(robot: Robot): number {
  return robot.model.links.reduce((s, l) => s + (l.inertial?.massKg ?? 0), 0);
}
