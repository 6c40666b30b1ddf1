/**
 * humanoid/hoi — human–object interaction: the humanoid stands at a table and moves a box (randomised size, mass,
 * friction, pose) by lifting or pushing it to a target pose, following a seeded reference clip (motion.ts).
 *
 * Observations
 * - `observation.state` (77): proprioception (57, humanoid.ts `writeProprio`; feet from the tactile sensor) + hand–box
 *   touch flags (2: right, left; 0/1, hand surface within tracking.contactTolM of the box — geometric, so the per-step
 *   cost stays at two contact-graph queries) + the box relative to the root in the heading frame (18: position 3,
 *   forward+up axes 6, linear velocity 3, angular velocity 3, half extents 3).
 * - `observation.goal` (25), all in the root's heading frame, positions relative to the root (see `GOAL_LAYOUT`):
 *   [0..3)  mask bits: masked_snapshot, masked_trajectory, masked_contact (1 = that goal kind is masked out);
 *   [3..11) snapshot: box target position (3), box target yaw as sin, cos (2), root target x, z (2), time to goal (s, 1);
 *   [11..23) trajectory: the box's reference positions 0.25, 0.5, 0.75, 1.0 s ahead (4 × 3);
 *   [23..25) contact: which hands should touch the box next step (right, left; 0/1).
 *   A masked kind's slot is all zeros and its mask bit is 1; unmasked slots carry values and a 0 bit. Masks are drawn
 *   per episode (`goal.maskProb`) or fixed (`goal.fixedMask`: −1 = draw, 0 = present, 1 = masked).
 * - `observation.reference` (29): the full reference of the next frame (for full-reference imitation experts): joint
 *   angles (21), box position relative to the root (3, heading frame), box yaw relative to the heading (sin, cos), hand
 *   contacts (2), clip progress (1: frame / length).
 * Action (21): PD targets normalised to [-1, 1] (skeleton.ts `actionToTarget`; 0 = default pose).
 * Reward terms (each in [0, 1]): jointPose, rootPose, endEffector (hands + feet), objectPose, contactMatch — the
 * tracking reward against the clip frame reached by this step; goal: exp(−(|box − goal| / 0.1 m)²).
 * Success: box within `success.posTolM` / `success.yawTolDeg` of the goal (the clip's final box pose), moving slower
 * than `success.maxSpeedMps`, at or after the clip's release phase, humanoid not fallen.
 * Terminated: 'fell' (humanoid.ts `fallReason`), 'object-dropped' (box below the table top − dropBelowTopM).
 * Held-out sets (`evalSet`): seen | unseen-goals | unseen-inits | recovery (motion.ts `clipDistribution`; recovery =
 * seen clips + the box knocked or the humanoid pushed during the carry). Perturbations (`perturb.enabled`): object mass
 * and friction scaling, PD gain noise, random pushes — all drawn from the scene RNG.
 */
import { ACTION, OBS_GOAL, OBS_STATE, defineScene, type FeatureSpec, type SceneConfigBase } from '../../sim/core/index.ts';
import type { Rng } from '../../sim/math/rng.ts';
import { wrapAngle } from '../../sim/math/vec.ts';
import { addBody, addCollider, addGround, type World } from '../../sim/physics/index.ts';
import {
  HUMANOID_RANGES,
  GROUP_GROUND, GROUP_OBJECT, PROPRIO_SIZE, actionRate, buildHumanoid, defaultHumanoidConfig, fallReason, maybePush,
  partColor, proprioNames, pushBody, readState, readout, rebindHumanoid, setActionTargets,
  writeProprio, type HumanoidConfig, type HumanoidReadout, type HumanoidState,
} from './humanoid.ts';
import { CONTACT_TOL_M, EVAL_SETS, PHASES, distToBox, clipFrame, drawClipParams, generateClip, type Clip, type ClipKind, type ClipParams, type EvalSet } from './motion.ts';
import {
  DEFAULT_ROOT_HEIGHT_M, DOF_INDEX, DOFS, END_EFFECTORS, HAND_RADIUS_M, NUM_BODIES, NUM_DOFS, bodyPoint, forwardKinematics,
  targetToAction,
} from './skeleton.ts';

/** Feature key of the full next-frame reference (for full-reference imitation experts). */
export const OBS_REFERENCE = 'observation.reference';

export interface HoiConfig extends SceneConfigBase {
  humanoid: HumanoidConfig;
  /** Which held-out set clips and start states are drawn from. */
  evalSet: EvalSet;
  /** 'any' (lift or push by the set's liftProb), 'lift' or 'push'. */
  clipKind: 'any' | ClipKind;
  table: {
    /** Table top height, m. */
    topM: number;
    /** x of the table's front edge (the humanoid stands at x = 0 facing +X), m. */
    frontM: number;
    /** Half depth (x) and half width (z), m. */
    halfDepthM: number;
    halfWidthM: number;
    friction: number;
  };
  box: {
    /** Mass range, kg. */
    massKg: [number, number];
    /** Friction coefficient range. */
    friction: [number, number];
  };
  /** How far the tracking expert's hand targets go into the box while in contact (squeeze/push), m. */
  squeezeM: number;
  goal: {
    /** Probability that each goal kind [snapshot, trajectory, contact] is masked, per episode. */
    maskProb: [number, number, number];
    /**
     * User steering: a world-frame box target [x, y, z] (metres) that replaces the clip's snapshot goal, with the
     * trajectory and contact goals masked, so a prior-based policy can be steered ([] = the clip's goal). The viewer's
     * draggable goal marker sets it mid-episode (SceneDef.steer).
     */
    override: number[];
    /** Per kind: −1 = draw with maskProb, 0 = always present, 1 = always masked. */
    fixedMask: [number, number, number];
  };
  success: {
    posTolM: number;
    yawTolDeg: number;
    maxSpeedMps: number;
  };
  /** Kernel widths of the tracking reward terms. */
  tracking: {
    jointRad: number;
    rootM: number;
    rootRad: number;
    endEffectorM: number;
    objectM: number;
    objectRad: number;
    /** A hand counts as touching the box when its surface is within this distance of the box, m. */
    contactTolM: number;
  };
  /** Physical perturbations, all drawn from the scene RNG when enabled. */
  perturb: {
    enabled: boolean;
    /** Box mass × U(range). */
    objectMassScale: [number, number];
    /** Box friction × U(range). */
    objectFrictionScale: [number, number];
    /** PD gain noise (overrides humanoid.pdGainNoise when enabled). */
    pdGainNoise: number;
    /** Random pushes on torso/arms (humanoid.push ranges). */
    pushes: boolean;
  };
  /** Recovery set: one event during the carry phase. */
  recovery: {
    /** Probability the event knocks the box (else it pushes the humanoid). */
    boxKnockProb: number;
    /** Horizontal impulse on the box, N·s. */
    boxImpulseNs: [number, number];
    /** Horizontal impulse on the torso, N·s. */
    humanImpulseNs: [number, number];
  };
  /** 'object-dropped' when the box centre falls this far below the table top, m. */
  dropBelowTopM: number;
}

export function defaultConfig(): HoiConfig {
  return {
    ctrlDtSec: 1 / 30,
    simDtSec: 1 / 240,
    maxSteps: 165,
    terminateOnSuccess: false,
    reward: { scales: { jointPose: 0.3, rootPose: 0.2, endEffector: 0.2, objectPose: 0.2, contactMatch: 0.1, goal: 0.2 } },
    humanoid: defaultHumanoidConfig(),
    evalSet: 'seen',
    clipKind: 'any',
    table: { topM: 0.85, frontM: 0.2, halfDepthM: 0.3, halfWidthM: 0.6, friction: 0.6 },
    box: { massKg: [0.5, 2.0], friction: [0.5, 0.9] },
    squeezeM: 0.04,
    goal: { maskProb: [0.3, 0.3, 0.3], fixedMask: [-1, -1, -1], override: [] },
    success: { posTolM: 0.05, yawTolDeg: 15, maxSpeedMps: 0.2 },
    tracking: { jointRad: 0.15, rootM: 0.1, rootRad: 0.3, endEffectorM: 0.05, objectM: 0.05, objectRad: 0.25, contactTolM: CONTACT_TOL_M },
    perturb: { enabled: false, objectMassScale: [0.5, 2], objectFrictionScale: [0.5, 1.5], pdGainNoise: 0.1, pushes: true },
    recovery: { boxKnockProb: 0.5, boxImpulseNs: [1.0, 2.0], humanImpulseNs: [30, 60] },
    dropBelowTopM: 0.15,
  };
}

export const OBJECT_SIZE = 18;
export const STATE_SIZE = PROPRIO_SIZE + 2 + OBJECT_SIZE;
/** Offsets of the goal feature's parts. */
export const GOAL_LAYOUT = { mask: [0, 3], snapshot: [3, 11], trajectory: [11, 23], contact: [23, 25] } as const;
export const GOAL_SIZE = 25;
export const REFERENCE_SIZE = NUM_DOFS + 3 + 2 + 2 + 1;
const TRAJ_DT_SEC = 0.25;
const TRAJ_POINTS = 4;

export interface HoiState {
  hum: HumanoidState;
  clip: ClipParams;
  box: number;
  boxCollider: number;
  tableCollider: number;
  boxMassKg: number;
  boxFriction: number;
  /** [snapshot, trajectory, contact]: 1 = masked. */
  goalMask: [number, number, number];
  /** `goal.override` or a steered target: world-frame box goal [x, y, z] (then trajectory and contact are masked); [] = none. */
  goalOverride: number[];
  /** Recovery event: control step (−1 = none) and kind. */
  recoveryStep: number;
  recoveryKind: 'box' | 'human' | 'none';
  /** Heading yaw at the last observation. */
  yaw: number;
  $clip?: ClipRuntime;
}

interface ClipRuntime {
  clip: Clip;
  /** Reference end-effector positions per frame (4 × 3) and root position (3). */
  ee: Float64Array;
  /** Box world pose now: position (3), quaternion (4), linear (3) and angular (3) velocity. */
  box: Float64Array;
  scratch: Float64Array;
  touch: number[];
}

function clipRuntime(cfg: HoiConfig, h: HoiState): ClipRuntime {
  if (h.$clip) return h.$clip;
  const clip = generateClip(h.clip, Math.round(1 / cfg.ctrlDtSec), DEFAULT_ROOT_HEIGHT_M, cfg.squeezeM);
  const ee = new Float64Array(clip.length * END_EFFECTORS.length * 3);
  const pos = new Float64Array(NUM_BODIES * 3), rot = new Float64Array(NUM_BODIES * 4);
  for (let f = 0; f < clip.length; f++) {
    const fr = clipFrame(clip, f);
    forwardKinematics({ rootPosM: [fr.root[0]!, fr.root[1]!, fr.root[2]!], rootQuat: [fr.root[3]!, fr.root[4]!, fr.root[5]!, fr.root[6]!], q: fr.q }, pos, rot);
    END_EFFECTORS.forEach((e, k) => bodyPoint(pos, rot, e.body, e.offsetM[0], e.offsetM[1], e.offsetM[2], ee, (f * END_EFFECTORS.length + k) * 3));
  }
  h.$clip = { clip, ee, box: new Float64Array(13), scratch: new Float64Array(16), touch: [0, 0] };
  return h.$clip;
}

function readBox(world: World, h: HoiState, rt: ClipRuntime): Float64Array {
  const b = world.getRigidBody(h.box);
  const t = b.translation(), r = b.rotation(), v = b.linvel(), w = b.angvel();
  const o = rt.box;
  o[0] = t.x; o[1] = t.y; o[2] = t.z; o[3] = r.x; o[4] = r.y; o[5] = r.z; o[6] = r.w;
  o[7] = v.x; o[8] = v.y; o[9] = v.z; o[10] = w.x; o[11] = w.y; o[12] = w.z;
  return o;
}

/** Yaw of the box (about +Y) from its quaternion. */
function boxYaw(b: Float64Array): number {
  const x = b[3]!, y = b[4]!, z = b[5]!, w = b[6]!;
  return Math.atan2(-(2 * (x * z - w * y)), 1 - 2 * (y * y + z * z));
}


/** The clip frame the current state is compared with (after this step's substeps). */
const frameNow = (h: HoiState) => h.hum.t;

/** Hands currently touching the box (geometric: hand surface within contactTolM of the box), [right, left]. */
function handTouch(s: HumanoidReadout, h: HoiState, rt: ClipRuntime, cfg: HoiConfig, out: number[]): void {
  for (let k = 0; k < 2; k++) {
    const e = END_EFFECTORS[k]!;
    bodyPoint(s.pos, s.rot, e.body, e.offsetM[0], e.offsetM[1], e.offsetM[2], rt.scratch, 0);
    const d = distToBox(rt.box, 0, 3, h.clip.boxHalfM, rt.scratch[0]!, rt.scratch[1]!, rt.scratch[2]!) - HAND_RADIUS_M;
    out[k] = d <= cfg.tracking.contactTolM ? 1 : 0;
  }
}

/** Read the humanoid, the box and the hand-touch flags (once per step, after build/restore and kinematic sets). */
function refresh(world: World, h: HoiState, cfg: HoiConfig): void {
  readState(world, h.hum);
  const rt = clipRuntime(cfg, h);
  readBox(world, h, rt);
  handTouch(readout(world, h.hum), h, rt, cfg, rt.touch);
}

/**
 * The five tracking terms (each in [0, 1], 1 = exactly on the reference) of the current state against clip frame `f`.
 * Exported for tests and tools (kinematic replay).
 */
export function trackingTerms(world: World, h: HoiState, cfg: HoiConfig, f: number): Record<'jointPose' | 'rootPose' | 'endEffector' | 'objectPose' | 'contactMatch', number> {
  const s = readout(world, h.hum);
  const rt = clipRuntime(cfg, h);
  const ref = clipFrame(rt.clip, f);
  const tr = cfg.tracking;
  let eq = 0;
  for (let i = 0; i < NUM_DOFS; i++) { const d = s.q[i]! - ref.q[i]!; eq += d * d; }
  eq /= NUM_DOFS;
  const dpx = s.pos[0]! - ref.root[0]!, dpy = s.pos[1]! - ref.root[1]!, dpz = s.pos[2]! - ref.root[2]!;
  // root orientation error: angle of conj(q_ref) ⊗ q
  const dotq = Math.abs(s.rot[0]! * ref.root[3]! + s.rot[1]! * ref.root[4]! + s.rot[2]! * ref.root[5]! + s.rot[3]! * ref.root[6]!);
  const rootAng = 2 * Math.acos(Math.min(1, dotq));
  let ee = 0;
  const k0 = Math.min(Math.max(f, 0), rt.clip.length - 1) * END_EFFECTORS.length * 3;
  for (let k = 0; k < END_EFFECTORS.length; k++) {
    const e = END_EFFECTORS[k]!;
    bodyPoint(s.pos, s.rot, e.body, e.offsetM[0], e.offsetM[1], e.offsetM[2], rt.scratch, 0);
    const dx = rt.scratch[0]! - rt.ee[k0 + k * 3]!, dy = rt.scratch[1]! - rt.ee[k0 + k * 3 + 1]!, dz = rt.scratch[2]! - rt.ee[k0 + k * 3 + 2]!;
    ee += dx * dx + dy * dy + dz * dz;
  }
  ee /= END_EFFECTORS.length;
  const b = rt.box; // read once per step in afterStep
  const obx = b[0]! - ref.box[0]!, oby = b[1]! - ref.box[1]!, obz = b[2]! - ref.box[2]!;
  const tilt = 1 - 2 * (b[3]! * b[3]! + b[5]! * b[5]!); // box up-axis y component
  const objAng = Math.abs(wrapAngle(boxYaw(b) - ref.box[3]!)) + Math.acos(Math.max(-1, Math.min(1, tilt)));
  const touch = rt.touch; // refreshed with the state (see `refresh`)
  const cm = ((touch[0] === ref.contact[0] ? 1 : 0) + (touch[1] === ref.contact[1] ? 1 : 0)) / 2;
  return {
    jointPose: Math.exp(-eq / (tr.jointRad * tr.jointRad)),
    rootPose: Math.exp(-(dpx * dpx + dpy * dpy + dpz * dpz) / (tr.rootM * tr.rootM) - (rootAng * rootAng) / (tr.rootRad * tr.rootRad)),
    endEffector: Math.exp(-ee / (tr.endEffectorM * tr.endEffectorM)),
    objectPose: Math.exp(-(obx * obx + oby * oby + obz * obz) / (tr.objectM * tr.objectM) - (objAng * objAng) / (tr.objectRad * tr.objectRad)),
    contactMatch: cm,
  };
}

/**
 * Kinematic replay: put the humanoid and the box exactly on clip frame `f` (joint angles perturbed by `qNoise` if
 * given), zero velocities, and set the frame counter to f. For tests and for rendering references.
 */
export function setKinematicFrame(world: World, h: HoiState, cfg: HoiConfig, f: number, qNoise?: ArrayLike<number>): void {
  const rt = clipRuntime(cfg, h);
  const fr = clipFrame(rt.clip, f);
  const q = Float64Array.from(fr.q);
  if (qNoise) for (let i = 0; i < NUM_DOFS; i++) q[i] = q[i]! + (qNoise[i] ?? 0);
  const pos = new Float64Array(NUM_BODIES * 3), rot = new Float64Array(NUM_BODIES * 4);
  forwardKinematics({ rootPosM: [fr.root[0]!, fr.root[1]!, fr.root[2]!], rootQuat: [fr.root[3]!, fr.root[4]!, fr.root[5]!, fr.root[6]!], q }, pos, rot);
  const zero = { x: 0, y: 0, z: 0 };
  for (let b = 0; b < NUM_BODIES; b++) {
    const body = world.getRigidBody(h.hum.bodies[b]!);
    body.setTranslation({ x: pos[b * 3]!, y: pos[b * 3 + 1]!, z: pos[b * 3 + 2]! }, true);
    body.setRotation({ x: rot[b * 4]!, y: rot[b * 4 + 1]!, z: rot[b * 4 + 2]!, w: rot[b * 4 + 3]! }, true);
    body.setLinvel(zero, true); body.setAngvel(zero, true);
  }
  const box = world.getRigidBody(h.box);
  box.setTranslation({ x: fr.box[0]!, y: fr.box[1]!, z: fr.box[2]! }, true);
  box.setRotation({ x: 0, y: Math.sin(fr.box[3]! / 2), z: 0, w: Math.cos(fr.box[3]! / 2) }, true);
  box.setLinvel(zero, true); box.setAngvel(zero, true);
  world.propagateModifiedBodyPositionsToColliders();
  h.hum.t = f;
  refresh(world, h, cfg);
}

function drawMask(cfg: HoiConfig, rng: Rng): [number, number, number] {
  const m: [number, number, number] = [0, 0, 0];
  for (let k = 0; k < 3; k++) {
    const fixed = cfg.goal.fixedMask[k]!;
    // Always draw, so the RNG stream does not depend on the fixed mask.
    const u = rng.next();
    m[k] = fixed === 0 ? 0 : fixed === 1 ? 1 : u < cfg.goal.maskProb[k]! ? 1 : 0;
  }
  return m;
}

/** Heading-frame coordinates of a world point relative to the root: [forward, up, right]. */
function toHeading(s: HumanoidReadout, yaw: number, px: number, py: number, pz: number, out: Float32Array, o: number): void {
  const c = Math.cos(yaw), sn = Math.sin(yaw);
  const dx = px - s.pos[0]!, dz = pz - s.pos[2]!;
  out[o] = c * dx - sn * dz; out[o + 1] = py - s.pos[1]!; out[o + 2] = sn * dx + c * dz;
}

function writeObject(s: HumanoidReadout, yaw: number, b: Float64Array, half: readonly number[], out: Float32Array, o: number): void {
  toHeading(s, yaw, b[0]!, b[1]!, b[2]!, out, o);
  const c = Math.cos(yaw), sn = Math.sin(yaw);
  // box axes (world) → heading frame (rotate by −yaw about Y)
  const x = b[3]!, y = b[4]!, z = b[5]!, w = b[6]!;
  const fx = 1 - 2 * (y * y + z * z), fy = 2 * (x * y + w * z), fz = 2 * (x * z - w * y);
  const ux = 2 * (x * y - w * z), uy = 1 - 2 * (x * x + z * z), uz = 2 * (y * z + w * x);
  out[o + 3] = c * fx - sn * fz; out[o + 4] = fy; out[o + 5] = sn * fx + c * fz;
  out[o + 6] = c * ux - sn * uz; out[o + 7] = uy; out[o + 8] = sn * ux + c * uz;
  out[o + 9] = c * b[7]! - sn * b[9]!; out[o + 10] = b[8]!; out[o + 11] = sn * b[7]! + c * b[9]!;
  out[o + 12] = c * b[10]! - sn * b[12]!; out[o + 13] = b[11]!; out[o + 14] = sn * b[10]! + c * b[12]!;
  out[o + 15] = half[0]!; out[o + 16] = half[1]!; out[o + 17] = half[2]!;
}

/** Frame at which the box reaches its goal pose (the carry end). */
const goalFrame = (clip: Clip) => Math.min(clip.length - 1, Math.round(PHASES[4] * clip.fps));

const GOAL_TMP = new Float32Array(3);

/** Write the goal feature (GOAL_LAYOUT) for frame f with `mask` applied. Exported for the motion dataset. */
export function writeGoal(s: HumanoidReadout, yaw: number, clip: Clip, f: number, mask: readonly number[], out: Float32Array, o: number, override: readonly number[] = []): void {
  out.fill(0, o, o + GOAL_SIZE);
  if (override.length === 3) mask = [0, 1, 1];
  out[o] = mask[0]!; out[o + 1] = mask[1]!; out[o + 2] = mask[2]!;
  const g = goalPose(clip, override);
  if (!mask[0]) {
    const p = o + GOAL_LAYOUT.snapshot[0];
    toHeading(s, yaw, g.box[0]!, g.box[1]!, g.box[2]!, out, p);
    const dyaw = wrapAngle(g.box[3]! - yaw);
    out[p + 3] = Math.sin(dyaw); out[p + 4] = Math.cos(dyaw);
    toHeading(s, yaw, g.root[0]!, g.root[1]!, g.root[2]!, GOAL_TMP, 0);
    out[p + 5] = GOAL_TMP[0]!; out[p + 6] = GOAL_TMP[2]!;
    out[p + 7] = Math.max(0, (goalFrame(clip) - f) / clip.fps);
  }
  if (!mask[1]) {
    const p = o + GOAL_LAYOUT.trajectory[0];
    for (let k = 0; k < TRAJ_POINTS; k++) {
      const fr = clipFrame(clip, f + Math.round(((k + 1) * TRAJ_DT_SEC) * clip.fps));
      toHeading(s, yaw, fr.box[0]!, fr.box[1]!, fr.box[2]!, out, p + k * 3);
    }
  }
  if (!mask[2]) {
    const fr = clipFrame(clip, f + 1);
    out[o + GOAL_LAYOUT.contact[0]] = fr.contact[0]!; out[o + GOAL_LAYOUT.contact[0] + 1] = fr.contact[1]!;
  }
}

/**
 * The goal pose: the clip's final box pose, or the override's position with the clip's yaw (the root target keeps its
 * offset from the box).
 */
function goalPose(clip: Clip, override: readonly number[]): { box: ArrayLike<number>; root: ArrayLike<number> } {
  const g = clipFrame(clip, goalFrame(clip));
  if (override.length !== 3) return g;
  const [x, y, z] = override as [number, number, number];
  const box = [x, y, z, g.box[3]!], root = Array.from(g.root as ArrayLike<number>);
  root[0] = root[0]! + x - g.box[0]!; root[2] = root[2]! + z - g.box[2]!;
  return { box, root };
}

function goalNames(): string[] {
  const n = ['masked_snapshot', 'masked_trajectory', 'masked_contact', 'snap_box_fwd', 'snap_box_up', 'snap_box_right', 'snap_box_yaw_sin', 'snap_box_yaw_cos', 'snap_root_fwd', 'snap_root_right', 'snap_time_to_goal'];
  for (let k = 1; k <= TRAJ_POINTS; k++) n.push(`traj${k}_fwd`, `traj${k}_up`, `traj${k}_right`);
  n.push('contact_r_hand', 'contact_l_hand');
  return n;
}

function objectNames(): string[] {
  return ['box_fwd', 'box_up', 'box_right', 'box_xaxis_f', 'box_xaxis_u', 'box_xaxis_r', 'box_yaxis_f', 'box_yaxis_u', 'box_yaxis_r', 'box_vel_f', 'box_vel_u', 'box_vel_r', 'box_angvel_f', 'box_angvel_u', 'box_angvel_r', 'box_half_x', 'box_half_y', 'box_half_z'];
}

export function hoiFeatures(): { observation: Record<string, FeatureSpec>; action: Record<string, FeatureSpec> } {
  return {
    observation: {
      [OBS_STATE]: { kind: 'state', shape: [STATE_SIZE], dtype: 'float32', names: [...proprioNames(), 'hand_touch_r', 'hand_touch_l', ...objectNames()], units: 'm, rad, m/s, rad/s, body weights, 0/1' },
      [OBS_GOAL]: { kind: 'goal', shape: [GOAL_SIZE], dtype: 'float32', names: goalNames(), units: 'm, s, 0/1' },
      [OBS_REFERENCE]: { kind: 'goal', shape: [REFERENCE_SIZE], dtype: 'float32', names: [...DOFS.map((d) => `ref_q_${d.name}`), 'ref_box_fwd', 'ref_box_up', 'ref_box_right', 'ref_box_yaw_sin', 'ref_box_yaw_cos', 'ref_contact_r', 'ref_contact_l', 'ref_progress'] },
    },
    action: { [ACTION]: { kind: 'action', shape: [NUM_DOFS], dtype: 'float32', low: -1, high: 1, names: DOFS.map((d) => d.name) } },
  };
}

function isFinished(world: World, h: HoiState, cfg: HoiConfig): boolean {
  const rt = clipRuntime(cfg, h);
  if (frameNow(h) < rt.clip.releaseFrame) return false;
  const b = rt.box; // read once per step in afterStep
  const g = goalPose(rt.clip, h.goalOverride);
  const dp = Math.hypot(b[0]! - g.box[0]!, b[1]! - g.box[1]!, b[2]! - g.box[2]!);
  const dyaw = Math.abs(wrapAngle(boxYaw(b) - g.box[3]!)) * (180 / Math.PI);
  const speed = Math.hypot(b[7]!, b[8]!, b[9]!);
  return dp <= cfg.success.posTolM && dyaw <= cfg.success.yawTolDeg && speed <= cfg.success.maxSpeedMps && fallReason(readout(world, h.hum), cfg.humanoid) === null;
}

/** Expert ankle balance gains: rad of ankle target per rad of pelvis tilt, and per rad/s of tilt rate. */
const EXPERT_BALANCE_KP = 1.5;
const EXPERT_BALANCE_KD = 0.15;
const ANKLES = { rp: DOF_INDEX.r_ankle_pitch!, lp: DOF_INDEX.l_ankle_pitch!, rr: DOF_INDEX.r_ankle_roll!, lr: DOF_INDEX.l_ankle_roll! };

export const hoi = defineScene<HoiConfig, HoiState>({
  id: 'humanoid/hoi',
  family: 'humanoid',
  description: 'Humanoid at a table lifts or pushes a randomised box to a goal pose, following seeded reference clips; maskable snapshot/trajectory/contact goals.',
  defaultConfig,
  configRanges: HUMANOID_RANGES,
  features: () => hoiFeatures(),

  build(world, cfg, rng) {
    if (!EVAL_SETS.includes(cfg.evalSet)) throw new Error(`humanoid/hoi: unknown evalSet '${cfg.evalSet}' (known: ${EVAL_SETS.join(', ')})`);
    if (!['any', 'lift', 'push'].includes(cfg.clipKind)) throw new Error(`humanoid/hoi: unknown clipKind '${cfg.clipKind}' (known: any, lift, push)`);
    const ground = addGround(world, { friction: cfg.humanoid.groundFriction });
    ground.setCollisionGroups(GROUP_GROUND);
    const tb = cfg.table;
    const tableBody = addBody(world, { type: 'fixed', p: { x: tb.frontM + tb.halfDepthM, y: tb.topM / 2, z: 0 } });
    const table = addCollider(world, tableBody, { kind: 'box', halfExtentsM: [tb.halfDepthM, tb.topM / 2, tb.halfWidthM] }, { friction: tb.friction, groups: GROUP_GROUND });
    // --- draw the episode (fixed order: clip, box physics, mask, perturbations, recovery) ---
    const clip = drawClipParams(rng, cfg.evalSet, tb.topM, cfg.clipKind === 'any' ? undefined : cfg.clipKind);
    let mass = rng.uniform(cfg.box.massKg[0], cfg.box.massKg[1]);
    let friction = rng.uniform(cfg.box.friction[0], cfg.box.friction[1]);
    const goalMask = drawMask(cfg, rng);
    const hcfg = { ...cfg.humanoid, push: { ...cfg.humanoid.push } };
    if (cfg.perturb.enabled) {
      mass *= rng.uniform(cfg.perturb.objectMassScale[0], cfg.perturb.objectMassScale[1]);
      friction *= rng.uniform(cfg.perturb.objectFrictionScale[0], cfg.perturb.objectFrictionScale[1]);
      hcfg.pdGainNoise = cfg.perturb.pdGainNoise;
    }
    let recoveryStep = -1, recoveryKind: HoiState['recoveryKind'] = 'none';
    const fps = Math.round(1 / cfg.ctrlDtSec);
    if (cfg.evalSet === 'recovery') {
      const a = Math.round((PHASES[3] + 0.1) * fps), b = Math.round((PHASES[4] - 0.3) * fps);
      recoveryStep = a + rng.int(Math.max(1, b - a));
      recoveryKind = rng.next() < cfg.recovery.boxKnockProb ? 'box' : 'human';
    }
    // --- humanoid at the clip's first frame ---
    const h0 = { clip } as HoiState;
    const rt = clipRuntime(cfg, h0);
    const f0 = clipFrame(rt.clip, 0);
    const hum = buildHumanoid(world, hcfg, {
      rootPosM: [f0.root[0]!, f0.root[1]!, f0.root[2]!], rootQuat: [f0.root[3]!, f0.root[4]!, f0.root[5]!, f0.root[6]!], q: f0.q,
    }, ground.handle, rng);
    // --- box on the table ---
    const boxBody = addBody(world, { p: { x: f0.box[0]!, y: f0.box[1]!, z: f0.box[2]! }, q: { x: 0, y: Math.sin(f0.box[3]! / 2), z: 0, w: Math.cos(f0.box[3]! / 2) } });
    const boxCol = addCollider(world, boxBody, { kind: 'box', halfExtentsM: clip.boxHalfM }, { massKg: mass, friction, groups: GROUP_OBJECT });
    world.propagateModifiedBodyPositionsToColliders();
    const h: HoiState = {
      hum, clip, box: boxBody.handle, boxCollider: boxCol.handle, tableCollider: table.handle, boxMassKg: mass, boxFriction: friction,
      goalMask, goalOverride: cfg.goal.override.length === 3 ? [...cfg.goal.override] : [], recoveryStep, recoveryKind, yaw: clip.root[2], $clip: rt,
    };
    rebindHumanoid(world, hum);
    refresh(world, h, cfg);
    return h;
  },

  applyAction(world, h, action) {
    setActionTargets(world, h.hum, action);
  },

  afterStep(world, h, cfg, rng) {
    h.hum.t++;
    refresh(world, h, cfg);
    if (cfg.perturb.enabled && cfg.perturb.pushes) maybePush(world, h.hum, { ...cfg.humanoid, push: { ...cfg.humanoid.push, enabled: true } }, cfg.ctrlDtSec, rng);
    else maybePush(world, h.hum, cfg.humanoid, cfg.ctrlDtSec, rng);
    if (h.hum.t === h.recoveryStep) {
      const dir = rng.uniform(-Math.PI, Math.PI);
      if (h.recoveryKind === 'box') {
        const m = rng.uniform(cfg.recovery.boxImpulseNs[0], cfg.recovery.boxImpulseNs[1]);
        world.getRigidBody(h.box).applyImpulse({ x: m * Math.cos(dir), y: 0, z: -m * Math.sin(dir) }, true);
      } else {
        pushBody(world, h.hum, 'torso', rng.uniform(cfg.recovery.humanImpulseNs[0], cfg.recovery.humanImpulseNs[1]), dir);
      }
    }
  },

  observe(world, h, cfg) {
    const s = readout(world, h.hum);
    const rt = clipRuntime(cfg, h);
    const b = rt.box; // read once per step in afterStep
    const state = new Float32Array(STATE_SIZE);
    const yaw = writeProprio(s, state, 0);
    h.yaw = yaw;
    const touch = rt.touch;
    state[PROPRIO_SIZE] = touch[0]!; state[PROPRIO_SIZE + 1] = touch[1]!;
    writeObject(s, yaw, b, h.clip.boxHalfM, state, PROPRIO_SIZE + 2);
    const f = frameNow(h);
    const goal = new Float32Array(GOAL_SIZE);
    writeGoal(s, yaw, rt.clip, f, h.goalMask, goal, 0, h.goalOverride);
    const ref = new Float32Array(REFERENCE_SIZE);
    const nf = clipFrame(rt.clip, f + 1);
    for (let i = 0; i < NUM_DOFS; i++) ref[i] = nf.q[i]!;
    toHeading(s, yaw, nf.box[0]!, nf.box[1]!, nf.box[2]!, ref, NUM_DOFS);
    const dyaw = wrapAngle(nf.box[3]! - yaw);
    ref[NUM_DOFS + 3] = Math.sin(dyaw); ref[NUM_DOFS + 4] = Math.cos(dyaw);
    ref[NUM_DOFS + 5] = nf.contact[0]!; ref[NUM_DOFS + 6] = nf.contact[1]!;
    ref[NUM_DOFS + 7] = Math.min(1, (f + 1) / rt.clip.length);
    return { [OBS_STATE]: state, [OBS_GOAL]: goal, [OBS_REFERENCE]: ref };
  },

  rewardTerms(world, h, action, cfg) {
    actionRate(h.hum, action);
    const terms = trackingTerms(world, h, cfg, frameNow(h));
    const rt = clipRuntime(cfg, h);
    const g = goalPose(rt.clip, h.goalOverride);
    const b = rt.box;
    const d2 = (b[0]! - g.box[0]!) ** 2 + (b[1]! - g.box[1]!) ** 2 + (b[2]! - g.box[2]!) ** 2;
    return { ...terms, goal: Math.exp(-d2 / 0.01) };
  },

  isSuccess: (world, h, cfg) => isFinished(world, h, cfg),

  terminalReason(world, h, cfg) {
    const fell = fallReason(readout(world, h.hum), cfg.humanoid);
    if (fell) return fell;
    const rt = clipRuntime(cfg, h);
    if (rt.box[1]! < cfg.table.topM - cfg.dropBelowTopM) return 'object-dropped';
    return null;
  },

  metrics(world, h, cfg) {
    const rt = clipRuntime(cfg, h);
    const g = goalPose(rt.clip, h.goalOverride);
    const b = rt.box;
    return {
      boxGoalDistM: Math.hypot(b[0]! - g.box[0]!, b[1]! - g.box[1]!, b[2]! - g.box[2]!),
      boxGoalYawDeg: Math.abs(wrapAngle(boxYaw(b) - g.box[3]!)) * (180 / Math.PI),
      clipLift: h.clip.kind === 'lift' ? 1 : 0,
    };
  },

  rebind(world, h, cfg) {
    h.$clip = undefined;
    rebindHumanoid(world, h.hum);
    refresh(world, h, cfg);
  },

  steerTarget: (world, h, cfg) => { const g = goalPose(clipRuntime(cfg, h).clip, h.goalOverride).box; return [g[0]!, g[1]!, g[2]!]; },
  steer(_world, h, _cfg, t) { h.goalOverride = [t[0], t[1], t[2]]; },

  render(world, h, cfg) {
    const rt = clipRuntime(cfg, h);
    const g = goalPose(rt.clip, h.goalOverride);
    const pts: number[] = [];
    for (let f = 0; f < rt.clip.length; f += 4) { const fr = clipFrame(rt.clip, f); pts.push(fr.box[0]!, fr.box[1]!, fr.box[2]!); }
    return {
      overlays: [
        { kind: 'marker', id: 'goal', p: [g.box[0]!, g.box[1]!, g.box[2]!], radiusM: 0.03, color: '#3cb371' },
        { kind: 'polyline', id: 'box-reference', points: pts, color: '#e0a030', dashed: true },
      ],
      hud: { clip: h.clip.kind, frame: frameNow(h), evalSet: cfg.evalSet, mask: h.goalOverride.length === 3 ? '011 (steered)' : h.goalMask.join('') },
    };
  },

  style(h, handle) {
    if (handle === h.hum.groundCollider) return { name: 'ground', color: '#9aa0a6' };
    if (handle === h.tableCollider) return { name: 'table', color: '#8b6b4a' };
    if (handle === h.boxCollider) return { name: 'box', color: '#d9822b' };
    for (const [part, ch] of Object.entries(h.hum.parts)) if (ch === handle) return { name: part, color: partColor(part) };
    return undefined;
  },

  /**
   * The tracking expert: PD targets = the clip's expert targets of the next frame (reference arms with hand targets
   * `squeezeM` into the box while in contact), plus ankle balance feedback on the pelvis tilt; no object feedback.
   * Labels: clip kind, evalSet, goal mask, box mass, recovery event kind.
   */
  expert: () => {
    let labels: Record<string, number | string> = {};
    return {
    reset(world, h, cfg) {
      labels = { kind: h.clip.kind, evalSet: cfg.evalSet, mask: h.goalMask.join(''), boxMassKg: h.boxMassKg, recovery: h.recoveryKind };
    },
    act(world, h, cfg) {
      const rt = clipRuntime(cfg, h);
      const f = Math.min(frameNow(h) + 1, rt.clip.length - 1);
      const q = rt.clip.qExpert.subarray(f * NUM_DOFS, (f + 1) * NUM_DOFS);
      // Ankle balance feedback: tilt of the pelvis' up axis from vertical (the reference root is upright), forward and
      // to the right in the heading frame, and its rate; the ankles push against it (ankle strategy).
      const s = readout(world, h.hum);
      const r = s.rot, x = r[0]!, y = r[1]!, z = r[2]!, w = r[3]!;
      const ux = 2 * (x * y - w * z), uz = 2 * (y * z + w * x);
      const c = Math.cos(h.yaw), sn = Math.sin(h.yaw);
      const tiltF = c * ux - sn * uz, tiltR = sn * ux + c * uz;
      const wf = c * s.ang[0]! - sn * s.ang[2]!, wr = sn * s.ang[0]! + c * s.ang[2]!;
      const dPitch = -(EXPERT_BALANCE_KP * tiltF + EXPERT_BALANCE_KD * -wr);
      const dRoll = EXPERT_BALANCE_KP * tiltR + EXPERT_BALANCE_KD * wf;
      const a = new Float32Array(NUM_DOFS);
      for (let i = 0; i < NUM_DOFS; i++) {
        let qi = q[i]!;
        if (i === ANKLES.rp || i === ANKLES.lp) qi += dPitch;
        else if (i === ANKLES.rr || i === ANKLES.lr) qi += dRoll;
        a[i] = targetToAction(i, qi);
      }
      return a;
    },
    labels: () => labels,
    };
  },
});

