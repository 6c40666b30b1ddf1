/**
 * Pieces shared by the manipulation tasks: the config every task extends, the table, blocks, trays, the depth camera
 * with its distribution shifts, distractors, and the observation vector layout.
 *
 * Observations (every task):
 * - `observation.state` (13): joint angles (4, rad), joint rates (4, rad/s), gripper opening (m, pad to pad) and rate,
 *   grasp point (3, m) — proprioception, see `PROPRIO_NAMES`.
 * - `observation.depth` (H×W): a top-down depth camera by Rapier ray casts (metres along each ray).
 * - `observation.tactile` (2): normal contact force on the left / right finger pad, N.
 * - `observation.object` (7 per block): block position (m) and orientation quaternion (x, y, z, w with w ≥ 0) —
 *   privileged, for experts, ablations and hindsight goals.
 * - `observation.object_cue` (2 per block, only with `objectCue.enabled`): each block's (x, z), m, with a per-episode
 *   bias (std `biasStdM`) and per-step noise (std `noiseStdM`) — a coarse but sufficient object channel (a
 *   "proximity sensor"), drawn from its own stream (`cueStream`), so every other observation is bit-identical with
 *   the cue on or off, and the cue is the same under every camera shift.
 *
 * Distribution shifts (`cfg.shift`) change only the camera modality, never the physics or the other observations:
 * - `distractors`: extra fixed objects of random size/shape/height on the table, placed from their own RNG stream
 *   (forked from the scene seed before any other draw, so all other randomisation is unchanged) and in a collision
 *   group that collides with nothing: only camera rays see them.
 * - `occlusion`: the fraction of steps whose depth image is blanked (all zeros), drawn per step.
 * - `cameraJitter`: per-step camera pose noise, std `cameraJitter` metres in position and `cameraJitter` radians in
 *   each rotation axis (e.g. 0.02 ⇒ 2 cm and 1.1°).
 * The per-step draws (occlusion, jitter, pixel noise) use the scene RNG, which nothing but the camera consumes after
 * `build`, so they cannot leak into physics.
 */
import { OBS_DEPTH, OBS_OBJECT, OBS_STATE, OBS_TACTILE, ACTION, type Features, type SceneConfigBase } from '../../sim/core/index.ts';
import type { Ranges } from '../../sim/core/config.ts';
import { Rng as RngCtor, type Rng } from '../../sim/math/rng.ts';
import { quatFromAxisAngle, quatMul, type Quat, type Vec3 } from '../../sim/math/vec.ts';
import { addBody, addCollider, type World } from '../../sim/physics/index.ts';
import { BatchedDepthCamera, DepthCamera, depthFeature, tactileFeature, inContact } from '../../sim/sensors/index.ts';
import {
  GROUPS, PROPRIO_NAMES, armStyle, defaultArmConfig, proprioVector, type ArmConfig, type ArmHandles,
} from './arm.ts';

export interface CameraConfig {
  /** Image width in pixels. */
  widthPx: number;
  /** Image height in pixels. */
  heightPx: number;
  /** Vertical field of view, degrees. */
  fovDeg: number;
  /** Range limit, metres; pixels that hit nothing read this. */
  maxRangeM: number;
  /** Gaussian pixel noise std, metres (0 = noiseless). */
  noiseStdM: number;
  /** Camera position, metres. */
  eyeM: [number, number, number];
  /** Point the camera looks at, metres. */
  targetM: [number, number, number];
  /** World direction that appears as "up" in the image (must not be parallel to the view direction). */
  upHint: [number, number, number];
}

/** Ranges of the manipulation config fields that a derived range (sign and ×1000 of the default) would get wrong. */
export const MANIP_RANGES: Ranges = {
  'shift.distractors': { min: 0, max: 32, int: true },
  'shift.occlusion': { min: 0, max: 1 },
  'shift.cameraJitter': { min: 0, max: 0.5 },
  'camera.widthPx': { min: 1, max: 512, int: true },
  'camera.heightPx': { min: 1, max: 512, int: true },
  'camera.fovDeg': { min: 1, max: 179 },
  'camera.maxRangeM': { min: 0.01, max: 100 },
  'arm.solverIterations': { min: 1, max: 64, int: true },
  contactNaturalFreqHz: { min: 1, max: 10_000 },
  blockHalfM: { min: 0.005, max: 0.2 },
  blockMassKg: { min: 1e-3, max: 100 },
};

export interface ShiftConfig {
  /** Number of camera-only distractor objects (0 = none). */
  distractors: number;
  /** Fraction of steps whose depth image is blanked to 0 (0 = never). */
  occlusion: number;
  /** Per-step camera pose noise: std in metres (position) and radians (each rotation axis). */
  cameraJitter: number;
}

/** Shift and camera paths only read per step: the viewer's live controls may change them mid-episode (no rebuild). */
export const MANIP_LIVE_CONFIG = ['shift.occlusion', 'shift.cameraJitter', 'camera.noiseStdM'] as const;

export interface ObjectCueConfig {
  /** Emit `observation.object_cue`. */
  enabled: boolean;
  /** Per-episode bias of each block's cue, std per axis, metres. */
  biasStdM: number;
  /** Per-step noise of the cue, std per axis, metres. */
  noiseStdM: number;
}

/** Key of the noisy object cue. */
export const OBS_OBJECT_CUE = 'observation.object_cue';

export interface ManipConfig extends SceneConfigBase {
  arm: ArmConfig;
  camera: CameraConfig;
  shift: ShiftConfig;
  /** Rapier contact stiffness (natural frequency, Hz; Rapier's default is 30). Higher keeps finger pads from sinking into a squeezed block. */
  contactNaturalFreqHz: number;
  /** Half edge of a block (cube), metres. */
  blockHalfM: number;
  /** Block mass, kg. */
  blockMassKg: number;
  /** Block friction coefficient. */
  blockFriction: number;
  /** Table friction coefficient. */
  tableFriction: number;
  /** Blocks/targets are drawn at a radius in [minRadiusM, maxRadiusM] from the arm base... */
  minRadiusM: number;
  maxRadiusM: number;
  /** ...and a bearing within ±maxBearingRad of the arm's forward axis (+X). */
  maxBearingRad: number;
  /** Block yaw relative to the radial direction is uniform in ±blockYawJitterRad. */
  blockYawJitterRad: number;
  /**
   * Content of `observation.object` per block: 'pose' (default) = [x, y, z, qx, qy, qz, qw]; 'position' = [x, y, z].
   * A cube's quaternion jumps between equivalent orientations when it tips or rolls (symmetry), so policies that only
   * need where the blocks are learn better without it.
   */
  objectObs: 'pose' | 'position';
  /** The coarse object cue `observation.object_cue` (off by default). */
  objectCue: ObjectCueConfig;
}

export function defaultManipConfig(): Omit<ManipConfig, 'maxSteps' | 'reward'> {
  return {
    ctrlDtSec: 0.05,
    simDtSec: 0.005,
    terminateOnSuccess: true,
    arm: defaultArmConfig(),
    camera: {
      widthPx: 32, heightPx: 32, fovDeg: 45, maxRangeM: 1.5, noiseStdM: 0.002,
      eyeM: [0.35, 0.95, 0], targetM: [0.35, 0, 0], upHint: [1, 0, 0],
    },
    shift: { distractors: 0, occlusion: 0, cameraJitter: 0 },
    contactNaturalFreqHz: 100,
    blockHalfM: 0.025,
    blockMassKg: 0.1,
    blockFriction: 0.8,
    tableFriction: 0.5,
    minRadiusM: 0.25,
    maxRadiusM: 0.5,
    maxBearingRad: 0.9,
    blockYawJitterRad: 0.3,
    objectObs: 'pose',
    objectCue: { enabled: false, biasStdM: 0.02, noiseStdM: 0.01 },
  };
}

/** Scene state shared by every manipulation task (plain data: handles and numbers). */
export interface ManipState {
  arm: ArmHandles;
  /** Table collider. */
  table: number;
  /** Block body handles. */
  blocks: number[];
  /** Block collider handles. */
  blockColliders: number[];
  /** Fixed fixture colliders (tray walls). */
  fixtures: number[];
  /** Camera-only distractor colliders and their colours. */
  distractors: number[];
  distractorColors: string[];
  /** Previous (clamped) action, for the action-rate term. */
  prevAction: number[];
  /** Object cue: per-block (x, z) bias of this episode, metres, and the state of its own RNG stream (plain numbers). */
  cue: { biasM: number[]; rng: number[] };
  /** Runtime-only per-step cache of the finger-pad contacts (cleared by `clearStepCache` before physics). */
  $contacts?: PadContacts;
}

/** Finger-pad contacts after the last physics step: normal force per pad (N) and which blocks each pad touches. */
export interface PadContacts {
  forceN: Float32Array;
  /** touches[pad][block] */
  touches: boolean[][];
}

/** Call at the start of applyAction: the cached contacts describe the previous step. */
export function clearStepCache(h: ManipState): void {
  h.$contacts = undefined;
}

/** One pass over each pad's contact pairs: tactile forces and pad–block touches (cached until the next action). */
export function padContacts(world: World, h: ManipState): PadContacts {
  if (h.$contacts) return h.$contacts;
  const forceN = new Float32Array(2);
  const touches = [h.blocks.map(() => false), h.blocks.map(() => false)];
  const dt = world.timestep;
  for (let k = 0; k < 2; k++) {
    const pad = world.getCollider(h.arm.pads[k]!);
    let impulse = 0;
    world.contactPairsWith(pad, (other) => {
      world.contactPair(pad, other, (m) => {
        const n = m.numContacts();
        for (let i = 0; i < n; i++) impulse += m.contactImpulse(i);
        if (n > 0) {
          const bi = h.blockColliders.indexOf(other.handle);
          if (bi >= 0) touches[k]![bi] = true;
        }
      });
    });
    forceN[k] = impulse / dt;
  }
  h.$contacts = { forceN, touches };
  return h.$contacts;
}

export const BLOCK_COLORS = ['#d9534f', '#3b7dd8', '#5cb85c', '#f0ad4e'];

// --- features -------------------------------------------------------------------------------------------------------

export function commonFeatures(cfg: ManipConfig, numBlocks: number): { observation: Record<string, import('../../sim/core/index.ts').FeatureSpec>; action: Features } {
  const objNames: string[] = [];
  const perBlock = cfg.objectObs === 'position' ? ['x', 'y', 'z'] : ['x', 'y', 'z', 'qx', 'qy', 'qz', 'qw'];
  for (let b = 0; b < numBlocks; b++) for (const k of perBlock) objNames.push(`block${b}_${k}`);
  return {
    observation: {
      [OBS_STATE]: { kind: 'state', shape: [PROPRIO_NAMES.length], dtype: 'float32', names: PROPRIO_NAMES, units: 'rad, rad/s, m, m/s' },
      [OBS_DEPTH]: depthFeature(cfg.camera),
      [OBS_TACTILE]: tactileFeature(['pad_left', 'pad_right']),
      [OBS_OBJECT]: { kind: 'object', shape: [objNames.length], dtype: 'float32', names: objNames, units: cfg.objectObs === 'position' ? 'm' : 'm, quat' },
      ...(cfg.objectCue.enabled ? { [OBS_OBJECT_CUE]: { kind: 'object' as const, shape: [2 * numBlocks], dtype: 'float32' as const, names: Array.from({ length: numBlocks }, (_, b) => [`block${b}_x`, `block${b}_z`]).flat(), units: 'm' } } : {}),
    },
    action: {
      [ACTION]: cfg.arm.actionSpace === 'cartesian' ? {
        kind: 'action', shape: [4], dtype: 'float32', low: -1, high: 1,
        names: ['x', 'y', 'z', 'gripper'],
        units: 'normalised grasp-point target over arm.cartesianBoxM (top-down IK); gripper -1 open .. +1 closed',
      } : {
        kind: 'action', shape: [5], dtype: 'float32', low: -1, high: 1,
        names: ['yaw', 'shoulder', 'elbow', 'wrist', 'gripper'],
        units: 'normalised joint-position targets over the joint limits; gripper -1 open .. +1 closed',
      },
    },
  };
}

// --- building -------------------------------------------------------------------------------------------------------

export function setupWorld(world: World, cfg: ManipConfig): number {
  world.integrationParameters.contact_natural_frequency = cfg.contactNaturalFreqHz;
  const table = addBody(world, { type: 'fixed', p: { x: 0, y: -0.025, z: 0 } });
  return addCollider(world, table, { kind: 'box', halfExtentsM: [1, 0.025, 1] }, { friction: cfg.tableFriction, groups: GROUPS.table }).handle;
}

/** A point in the workspace: radius and bearing drawn uniformly. */
export function sampleWorkspace(rng: Rng, cfg: ManipConfig): { x: number; z: number } {
  const r = rng.uniform(cfg.minRadiusM, cfg.maxRadiusM);
  const b = rng.uniform(-cfg.maxBearingRad, cfg.maxBearingRad);
  return { x: r * Math.cos(b), z: -r * Math.sin(b) };
}

/** Rejection-sample workspace points at least `minDistM` from every point in `avoid`. */
export function sampleFree(rng: Rng, cfg: ManipConfig, avoid: { x: number; z: number; r: number }[], r: number): { x: number; z: number } {
  for (let tries = 0; tries < 200; tries++) {
    const p = sampleWorkspace(rng, cfg);
    if (avoid.every((a) => Math.hypot(a.x - p.x, a.z - p.z) >= a.r + r)) return p;
  }
  throw new Error('manipulation: could not place an object without overlap (workspace too small for the config)');
}

export function addBlock(world: World, cfg: ManipConfig, rng: Rng, p: { x: number; z: number }): { body: number; collider: number } {
  const radialYaw = Math.atan2(-p.z, p.x);
  const yaw = radialYaw + rng.uniform(-cfg.blockYawJitterRad, cfg.blockYawJitterRad);
  const body = addBody(world, { p: { x: p.x, y: cfg.blockHalfM, z: p.z }, q: quatFromAxisAngle({ x: 0, y: 1, z: 0 }, yaw) });
  const h = cfg.blockHalfM;
  const c = addCollider(world, body, { kind: 'box', halfExtentsM: [h, h, h] }, { massKg: cfg.blockMassKg, friction: cfg.blockFriction, groups: GROUPS.object });
  return { body: body.handle, collider: c.handle };
}

export interface TrayConfig {
  /** Inner half-size of the square tray, metres. */
  innerHalfM: number;
  /** Wall height, metres. */
  wallHeightM: number;
  /** Wall thickness, metres. */
  wallThickM: number;
}

export const defaultTray = (): TrayConfig => ({ innerHalfM: 0.06, wallHeightM: 0.02, wallThickM: 0.008 });

/** A square open tray (four low walls) centred at (x, z), axis-aligned with the radial direction. Returns wall colliders. */
export function addTray(world: World, tray: TrayConfig, c: { x: number; z: number }): number[] {
  const yaw = Math.atan2(-c.z, c.x);
  const body = addBody(world, { type: 'fixed', p: { x: c.x, y: 0, z: c.z }, q: quatFromAxisAngle({ x: 0, y: 1, z: 0 }, yaw) });
  const a = tray.innerHalfM + tray.wallThickM / 2, hh = tray.wallHeightM / 2, t = tray.wallThickM / 2, L = tray.innerHalfM + tray.wallThickM;
  const out: number[] = [];
  for (const [px, pz, hx, hz] of [[a, 0, t, L], [-a, 0, t, L], [0, a, L, t], [0, -a, L, t]] as const) {
    out.push(addCollider(world, body, { kind: 'box', halfExtentsM: [hx, hh, hz] }, { p: { x: px, y: hh, z: pz }, friction: 0.5, groups: GROUPS.fixture }).handle);
  }
  return out;
}

/** Is point (x, z) inside the tray centred at c, by at least `marginM` from the inner walls? */
export function inTray(tray: TrayConfig, c: { x: number; z: number }, p: { x: number; z: number }, marginM: number): boolean {
  const yaw = Math.atan2(-c.z, c.x);
  const dx = p.x - c.x, dz = p.z - c.z;
  // Rotate into the tray frame (inverse yaw about +Y).
  const co = Math.cos(yaw), si = Math.sin(yaw);
  const lx = co * dx - si * dz, lz = si * dx + co * dz;
  const lim = tray.innerHalfM - marginM;
  return Math.abs(lx) <= lim && Math.abs(lz) <= lim;
}

const DISTRACTOR_COLORS = ['#8e44ad', '#16a085', '#c0392b', '#7f8c8d', '#d35400', '#2c3e50'];

/**
 * Camera-only distractors: fixed boxes/cylinders on the table inside the camera's view, away from `avoid`, in a
 * collision group that interacts with nothing (only camera rays, which carry G_CAMERA, see them). Created last so
 * no other handle changes.
 */
export function addDistractors(world: World, cfg: ManipConfig, rng: Rng, avoid: { x: number; z: number; r: number }[]): { colliders: number[]; colors: string[] } {
  const colliders: number[] = [], colors: string[] = [];
  const [ex, , ez] = cfg.camera.eyeM;
  const [tx, , tz] = cfg.camera.targetM;
  const cx = (ex + tx) / 2, cz = (ez + tz) / 2;
  const halfView = 0.3;
  const placed = [...avoid];
  for (let i = 0; i < cfg.shift.distractors; i++) {
    const size = rng.uniform(0.015, 0.04), height = rng.uniform(0.01, 0.12), cyl = rng.next() < 0.5;
    let p = { x: 0, z: 0 }, ok = false;
    for (let tries = 0; tries < 100 && !ok; tries++) {
      p = { x: cx + rng.uniform(-halfView, halfView), z: cz + rng.uniform(-halfView, halfView) };
      ok = Math.hypot(p.x, p.z) > 0.15 && placed.every((a) => Math.hypot(a.x - p.x, a.z - p.z) >= a.r + size + 0.01);
    }
    const yaw = rng.uniform(-Math.PI, Math.PI);
    const color = DISTRACTOR_COLORS[rng.int(DISTRACTOR_COLORS.length)]!;
    if (!ok) continue;
    placed.push({ ...p, r: size * 1.5 });
    const body = addBody(world, { type: 'fixed', p: { x: p.x, y: height / 2, z: p.z }, q: quatFromAxisAngle({ x: 0, y: 1, z: 0 }, yaw) });
    const shape = cyl ? { kind: 'cylinder' as const, radiusM: size, halfHeightM: height / 2 } : { kind: 'box' as const, halfExtentsM: [size, height / 2, size * rng.uniform(0.6, 1.4)] as [number, number, number] };
    colliders.push(addCollider(world, body, shape, { groups: GROUPS.distractor }).handle);
    colors.push(color);
  }
  return { colliders, colors };
}

// --- camera ---------------------------------------------------------------------------------------------------------

/** Camera orientation (camera frame looks along −Z, +Y up) that looks from eye to target. */
export function lookAtQuat(eye: Vec3, target: Vec3, up: Vec3): Quat {
  let fx = target.x - eye.x, fy = target.y - eye.y, fz = target.z - eye.z;
  const fn = Math.hypot(fx, fy, fz); fx /= fn; fy /= fn; fz /= fn;
  // z axis of the camera = −forward
  const zx = -fx, zy = -fy, zz = -fz;
  // x = up × z
  let xx = up.y * zz - up.z * zy, xy = up.z * zx - up.x * zz, xz = up.x * zy - up.y * zx;
  const xn = Math.hypot(xx, xy, xz); xx /= xn; xy /= xn; xz /= xn;
  // y = z × x
  const yx = zy * xz - zz * xy, yy = zz * xx - zx * xz, yz = zx * xy - zy * xx;
  // rotation matrix columns x, y, z → quaternion
  const m00 = xx, m01 = yx, m02 = zx, m10 = xy, m11 = yy, m12 = zy, m20 = xz, m21 = yz, m22 = zz;
  const tr = m00 + m11 + m22;
  let q: Quat;
  if (tr > 0) {
    const s = Math.sqrt(tr + 1) * 2;
    q = { w: 0.25 * s, x: (m21 - m12) / s, y: (m02 - m20) / s, z: (m10 - m01) / s };
  } else if (m00 > m11 && m00 > m22) {
    const s = Math.sqrt(1 + m00 - m11 - m22) * 2;
    q = { w: (m21 - m12) / s, x: 0.25 * s, y: (m01 + m10) / s, z: (m02 + m20) / s };
  } else if (m11 > m22) {
    const s = Math.sqrt(1 + m11 - m00 - m22) * 2;
    q = { w: (m02 - m20) / s, x: (m01 + m10) / s, y: 0.25 * s, z: (m12 + m21) / s };
  } else {
    const s = Math.sqrt(1 + m22 - m00 - m11) * 2;
    q = { w: (m10 - m01) / s, x: (m02 + m20) / s, y: (m12 + m21) / s, z: 0.25 * s };
  }
  return q;
}

const cameraCache = new Map<string, BatchedDepthCamera>();
const cameraByCfg = new WeakMap<CameraConfig, BatchedDepthCamera>();
const poseByCfg = new WeakMap<CameraConfig, { p: Vec3; q: Quat }>();
/** The (shared, stateless apart from a per-world collider cache) batched ray-cast depth camera for a camera config. */
export function cameraFor(cfg: CameraConfig): BatchedDepthCamera {
  const hit = cameraByCfg.get(cfg);
  if (hit) return hit;
  const key = `${cfg.widthPx}x${cfg.heightPx}/${cfg.fovDeg}/${cfg.maxRangeM}/${cfg.noiseStdM}`;
  let cam = cameraCache.get(key);
  if (!cam) {
    cam = new BatchedDepthCamera({ widthPx: cfg.widthPx, heightPx: cfg.heightPx, fovDeg: cfg.fovDeg, maxRangeM: cfg.maxRangeM, noiseStdM: cfg.noiseStdM });
    cameraCache.set(key, cam);
  }
  cameraByCfg.set(cfg, cam);
  return cam;
}

export function cameraPose(cfg: CameraConfig): { p: Vec3; q: Quat } {
  const hit = poseByCfg.get(cfg);
  if (hit) return hit;
  const pose = cameraPoseOf(cfg);
  poseByCfg.set(cfg, pose);
  return pose;
}

function cameraPoseOf(cfg: CameraConfig): { p: Vec3; q: Quat } {
  const [ex, ey, ez] = cfg.eyeM, [tx, ty, tz] = cfg.targetM, [ux, uy, uz] = cfg.upHint;
  return { p: { x: ex, y: ey, z: ez }, q: lookAtQuat({ x: ex, y: ey, z: ez }, { x: tx, y: ty, z: tz }, { x: ux, y: uy, z: uz }) };
}

/** Render the depth image with the configured shifts (occlusion, jitter) and noise. Consumes only `rng`. */
export function renderDepth(world: World, cfg: ManipConfig, rng: Rng, out?: Float32Array): Float32Array {
  const cam = cameraFor(cfg.camera);
  const n = cfg.camera.widthPx * cfg.camera.heightPx;
  const img = out ?? new Float32Array(n);
  if (cfg.shift.occlusion > 0 && rng.next() < cfg.shift.occlusion) {
    img.fill(0);
    return img;
  }
  let { p, q } = cameraPose(cfg.camera);
  const j = cfg.shift.cameraJitter;
  if (j > 0) {
    p = { x: p.x + rng.normal(0, j), y: p.y + rng.normal(0, j), z: p.z + rng.normal(0, j) };
    const rx = rng.normal(0, j), ry = rng.normal(0, j), rz = rng.normal(0, j);
    const ang = Math.hypot(rx, ry, rz);
    if (ang > 0) q = quatMul(quatFromAxisAngle({ x: rx / ang, y: ry / ang, z: rz / ang }, ang), q);
  }
  return cam.render(world, p, q, rng, img, GROUPS.cameraRay);
}

// --- observation ----------------------------------------------------------------------------------------------------

/** `observation.object`: per block [x, y, z, qx, qy, qz, qw] (w ≥ 0), or [x, y, z] with `positionOnly`. */
export function objectVector(world: World, blocks: readonly number[], positionOnly = false): Float32Array {
  const n = positionOnly ? 3 : 7;
  const out = new Float32Array(n * blocks.length);
  for (let b = 0; b < blocks.length; b++) {
    const body = world.getRigidBody(blocks[b]!);
    const t = body.translation();
    if (positionOnly) { out.set([t.x, t.y, t.z], 3 * b); continue; }
    const r = body.rotation();
    const s = r.w < 0 ? -1 : 1;
    out.set([t.x, t.y, t.z, s * r.x, s * r.y, s * r.z, s * r.w], 7 * b);
  }
  return out;
}

/**
 * The object cue's own stream: a fork of a copy of the (fresh) shift RNG, so it consumes no draw of any other stream
 * and does not depend on the shift settings (the distractors draw from the shift RNG itself).
 */
export function cueStream(shiftRng: Rng): Rng {
  const copy = new RngCtor(0);
  copy.setState(shiftRng.getState());
  return copy.fork();
}

/** The cue's state for an episode (call in `build` with `cueStream(shiftRng)`): draws the per-episode bias. */
export function objectCueState(cfg: ManipConfig, rng: Rng, numBlocks: number): ManipState['cue'] {
  const biasM: number[] = [];
  for (let i = 0; i < 2 * numBlocks; i++) biasM.push(rng.normal(0, cfg.objectCue.biasStdM));
  return { biasM, rng: rng.getState() };
}

/** `observation.object_cue`: each block's (x, z) + the episode's bias + fresh per-step noise (advances the cue stream). */
export function objectCue(world: World, h: ManipState, cfg: ManipConfig): Float32Array {
  const r = new RngCtor(0);
  r.setState(h.cue.rng);
  const out = new Float32Array(2 * h.blocks.length);
  for (let b = 0; b < h.blocks.length; b++) {
    const t = world.getRigidBody(h.blocks[b]!).translation();
    out[2 * b] = t.x + h.cue.biasM[2 * b]! + r.normal(0, cfg.objectCue.noiseStdM);
    out[2 * b + 1] = t.z + h.cue.biasM[2 * b + 1]! + r.normal(0, cfg.objectCue.noiseStdM);
  }
  h.cue.rng = r.getState();
  return out;
}

export function observeCommon(world: World, h: ManipState, cfg: ManipConfig, rng: Rng): Record<string, Float32Array> {
  return {
    [OBS_STATE]: proprioVector(world, h.arm, cfg.arm),
    [OBS_DEPTH]: renderDepth(world, cfg, rng),
    [OBS_TACTILE]: padContacts(world, h).forceN.slice(),
    [OBS_OBJECT]: objectVector(world, h.blocks, cfg.objectObs === 'position'),
    ...(cfg.objectCue.enabled ? { [OBS_OBJECT_CUE]: objectCue(world, h, cfg) } : {}),
  };
}

// --- task helpers ---------------------------------------------------------------------------------------------------

export function blockPos(world: World, h: ManipState, i: number): Vec3 {
  const t = world.getRigidBody(h.blocks[i]!).translation();
  return { x: t.x, y: t.y, z: t.z };
}

/** Both finger pads touch block `i` (a grasp). */
export function isGrasped(world: World, h: ManipState, i: number): boolean {
  const c = padContacts(world, h);
  return c.touches[0]![i]! && c.touches[1]![i]!;
}

/** Any finger pad touches block `i`. */
export function isTouched(world: World, h: ManipState, i: number): boolean {
  const c = padContacts(world, h);
  return c.touches[0]![i]! || c.touches[1]![i]!;
}

export { inContact };

/** −Σ (a_t − a_{t−1})², then remember a_t. */
export function actionRate(h: ManipState, action: Float32Array): number {
  let s = 0;
  const prev = h.prevAction;
  for (let i = 0; i < action.length; i++) { const d = action[i]! - (prev[i] ?? 0); s += d * d; prev[i] = action[i]!; }
  return -s;
}

export function styleCommon(h: ManipState, handle: number): { name?: string; color?: string } | undefined {
  const a = armStyle(h.arm, handle);
  if (a) return a;
  if (handle === h.table) return { name: 'table', color: '#b8a27a' };
  const bi = h.blockColliders.indexOf(handle);
  if (bi >= 0) return { name: `block${bi}`, color: BLOCK_COLORS[bi % BLOCK_COLORS.length] };
  const fi = h.fixtures.indexOf(handle);
  if (fi >= 0) return { name: `tray_wall${fi}`, color: '#6c7a89' };
  const di = h.distractors.indexOf(handle);
  if (di >= 0) return { name: `distractor${di}`, color: h.distractorColors[di] };
  return undefined;
}

/**
 * `stride bench sim` extras: the depth camera's cost per frame on the live world (steady state: static background
 * cached, dynamic colliders and noise per frame), and for reference the same image by one Rapier castRay per pixel
 * (`sim/sensors` DepthCamera). Uses its own RNG: the scene state is not touched.
 */
export function benchDepth(world: World, cfg: ManipConfig): Record<string, number> {
  const rng = new RngCtor(12345);
  const img = new Float32Array(cfg.camera.widthPx * cfg.camera.heightPx);
  renderDepth(world, cfg, rng, img); // warm (fills the static cache)
  const n = 200;
  let t0 = performance.now();
  for (let i = 0; i < n; i++) renderDepth(world, cfg, rng, img);
  const fast = (performance.now() - t0) / n;
  const ref = new DepthCamera({ widthPx: cfg.camera.widthPx, heightPx: cfg.camera.heightPx, fovDeg: cfg.camera.fovDeg, maxRangeM: cfg.camera.maxRangeM, noiseStdM: cfg.camera.noiseStdM });
  const { p, q } = cameraPose(cfg.camera);
  const m = 20;
  t0 = performance.now();
  for (let i = 0; i < m; i++) ref.render(world, p, q, rng, img, GROUPS.cameraRay);
  const slow = (performance.now() - t0) / m;
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return { depthMsPerFrame: r3(fast), depthPixels: img.length, depthCastRayMsPerFrame: r3(slow) };
}

// --- two-block play tasks (manip/play, manip/push_play) ---------------------------------------------------------

/** Viewer overlay colours of the play tasks' zones/trays (saturated: they must read on the tan table under SwiftShader). */
export const PLAY_ZONE_COLORS = ['#2e9e5b', '#e09a1a'];

/** Horizontal distance from `p` to the nearest of the zone/tray centres `zonesXZ`, metres. */
export function nearestZoneDistM(zonesXZ: readonly (readonly [number, number])[], p: { x: number; z: number }): number {
  let best = Infinity;
  for (const [x, z] of zonesXZ) best = Math.min(best, Math.hypot(p.x - x, p.z - z));
  return best;
}

/** Σ over the blocks of their distance to the nearest zone/tray centre, metres (the play tasks' progress term). */
export function sumNearestZoneDistM(world: World, h: ManipState, zonesXZ: readonly (readonly [number, number])[]): number {
  let s = 0;
  for (let b = 0; b < h.blocks.length; b++) s += nearestZoneDistM(zonesXZ, blockPos(world, h, b));
  return s;
}

/** Outcome hooks of a two-block play task from its "zone index of each block (−1 = none)" function. */
export function twoBlockPlayOutcome<C extends ManipConfig>(zonesOf: (world: World, h: ManipState, cfg: C) => number[]) {
  return {
    /** Success: each block in a zone, different zones. */
    isSuccess(world: World, h: ManipState, cfg: C): boolean {
      const z = zonesOf(world, h, cfg);
      return z[0]! >= 0 && z[1]! >= 0 && z[0] !== z[1];
    },
    terminalReason(world: World, h: ManipState): string | null {
      for (let b = 0; b < h.blocks.length; b++) {
        const p = blockPos(world, h, b);
        if (p.y < -0.1 || Math.hypot(p.x, p.z) > 0.95) return 'block-off-table';
      }
      return null;
    },
    metrics(world: World, h: ManipState, cfg: C): Record<string, number> {
      const z = zonesOf(world, h, cfg);
      return { blocksPlaced: z.filter((v) => v >= 0).length, block0Zone: z[0]!, block1Zone: z[1]! };
    },
  };
}

/**
 * The play experts' choice, from the expert's RNG: which block goes first and to which zone (the other block to the
 * other zone). `labels` are the episode labels { firstBlock, firstZone, secondBlock, secondZone, mode = 2·firstBlock +
 * firstZone }.
 */
export function drawPlayOrder(rng: Rng): { firstBlock: number; firstZone: number; secondBlock: number; secondZone: number; labels: Record<string, number> } {
  const firstBlock = rng.int(2), firstZone = rng.int(2);
  const secondBlock = 1 - firstBlock, secondZone = 1 - firstZone;
  return { firstBlock, firstZone, secondBlock, secondZone, labels: { firstBlock, firstZone, secondBlock, secondZone, mode: 2 * firstBlock + firstZone } };
}
