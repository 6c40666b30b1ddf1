/**
 * Foxglove's own schemas for recordings (the official JSON Schemas of `@foxglove/schemas`), so Foxglove opens a Stride
 * MCAP in its 3D, Image and joint panels:
 * - `/foxglove/tf` (`foxglove.FrameTransforms`): at each reset the transform from Foxglove's Z-up `world` frame to
 *   Stride's Y-up `stride` frame (+90° about X), and after reset and every step one transform `stride` → `v<id>` per
 *   moving visual (the collider's pose) — this is what moves the robot.
 * - `/foxglove/scene` (`foxglove.SceneUpdate`): at each reset every entity is deleted and every visual sent once
 *   (`v<id>`; a moving visual is drawn in its own frame `v<id>` with `frame_locked`, so the transforms carry it, a static
 *   one in `stride`); overlays (`o:<id>`: goals, zones, the driving route and plan lines, reference paths) are sent when
 *   they appear or change, and deleted when they disappear.
 * - `/camera/depth` (`foxglove.RawImage`, `32FC1`, metres along each ray) + `/camera/calibration`
 *   (`foxglove.CameraCalibration`, pinhole from the scene's camera field of view), for scenes with a depth camera.
 * - `/joint_states` (`foxglove.JointStates`): `q_<joint>` (and `qd_<joint>`) entries of `observation.state`.
 *
 * Shapes map onto Foxglove primitives: box → cube, sphere → sphere, cylinder/wheel → cylinder (Foxglove's axis is
 * local Z, ours Y / X), capsule → cylinder + two spheres, mesh → triangle list (indexed), ground → a thin large cube. Overlays: marker → sphere, zone →
 * flat cube, polyline/arrow → line strip; frustums and ghosts are not drawn.
 */
import type { Overlay, RenderFrame, RenderScene, RenderVisual } from '../core/render.ts';
import { CameraCalibration, FrameTransforms, JointStates, RawImage, SceneUpdate } from '@foxglove/schemas/jsonschema.js';
import { quatMul, rotate, type Quat, type Vec3 } from '../math/vec.ts';

export const FOXGLOVE_FRAME = 'stride';
const S = Math.SQRT1_2;
/** Rotations taking Foxglove's cylinder axis (Z) to ours: Z → Y (−90° about X) and Z → X (+90° about Y). */
const Z_TO_Y: Quat = { x: -S, y: 0, z: 0, w: S };
const Z_TO_X: Quat = { x: 0, y: S, z: 0, w: S };

interface Time { sec: number; nsec: number }
interface Pose { position: Vec3; orientation: Quat }
interface Color { r: number; g: number; b: number; a: number }

function time(ns: bigint): Time {
  return { sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) };
}

function color(css: string, opacity = 1): Color {
  const m = /^#([0-9a-f]{6})$/i.exec(css);
  if (!m) return { r: 0.6, g: 0.6, b: 0.6, a: opacity };
  const v = parseInt(m[1]!, 16);
  return { r: ((v >> 16) & 255) / 255, g: ((v >> 8) & 255) / 255, b: (v & 255) / 255, a: opacity };
}

function entityIn(id: string, t: Time, parts: Record<string, unknown[]>, frameId = FOXGLOVE_FRAME) {
  return {
    timestamp: t, frame_id: frameId, id, lifetime: { sec: 0, nsec: 0 }, frame_locked: frameId !== FOXGLOVE_FRAME, metadata: [],
    arrows: [], cubes: [], spheres: [], cylinders: [], lines: [], triangles: [], texts: [], models: [], ...parts,
  };
}

/** Visual `v` drawn at pose (p, q) in `frameId` (identity pose in its own moving frame, its pose in `stride` if static). */
function visualEntity(v: RenderVisual, p: Vec3, q: Quat, t: Time, frameId = FOXGLOVE_FRAME) {
  const c = color(v.color, v.opacity ?? 1);
  const s = v.shape;
  const entity = (id: string, tt: Time, parts: Record<string, unknown[]>) => entityIn(id, tt, parts, frameId);
  const pose = (o: Quat = q, pos: Vec3 = p): Pose => ({ position: pos, orientation: o });
  switch (s.kind) {
    case 'box':
      return entity(`v${v.id}`, t, { cubes: [{ pose: pose(), size: { x: 2 * s.halfExtentsM[0], y: 2 * s.halfExtentsM[1], z: 2 * s.halfExtentsM[2] }, color: c }] });
    case 'sphere':
      return entity(`v${v.id}`, t, { spheres: [{ pose: pose(), size: { x: 2 * s.radiusM, y: 2 * s.radiusM, z: 2 * s.radiusM }, color: c }] });
    case 'cylinder':
      return entity(`v${v.id}`, t, { cylinders: [{ pose: pose(quatMul(q, Z_TO_Y)), size: { x: 2 * s.radiusM, y: 2 * s.radiusM, z: 2 * s.halfHeightM }, bottom_scale: 1, top_scale: 1, color: c }] });
    case 'wheel':
      return entity(`v${v.id}`, t, { cylinders: [{ pose: pose(quatMul(q, Z_TO_X)), size: { x: 2 * s.radiusM, y: 2 * s.radiusM, z: s.widthM }, bottom_scale: 1, top_scale: 1, color: c }] });
    case 'capsule': {
      const d = 2 * s.radiusM;
      const end = (sign: number): Vec3 => { const o = rotate(q, { x: 0, y: sign * s.halfHeightM, z: 0 }); return { x: p.x + o.x, y: p.y + o.y, z: p.z + o.z }; };
      return entity(`v${v.id}`, t, {
        cylinders: [{ pose: pose(quatMul(q, Z_TO_Y)), size: { x: d, y: d, z: 2 * s.halfHeightM }, bottom_scale: 1, top_scale: 1, color: c }],
        spheres: [1, -1].map((sign) => ({ pose: pose(q, end(sign)), size: { x: d, y: d, z: d }, color: c })),
      });
    }
    case 'mesh': {
      const points: Vec3[] = [];
      for (let i = 0; i < s.positions.length; i += 3) points.push({ x: s.positions[i]!, y: s.positions[i + 1]!, z: s.positions[i + 2]! });
      return entity(`v${v.id}`, t, { triangles: [{ pose: pose(), points, color: c, colors: [], indices: s.indices }] });
    }
    case 'ground':
      return entity(`v${v.id}`, t, { cubes: [{ pose: pose({ x: 0, y: 0, z: 0, w: 1 }, { x: 0, y: -0.0005, z: 0 }), size: { x: 40, y: 0.001, z: 40 }, color: c }] });
  }
}

function overlayEntity(o: Overlay, t: Time) {
  const entity = (eid: string, tt: Time, parts: Record<string, unknown[]>) => entityIn(eid, tt, parts);
  const id = `o:${o.id}`;
  const ident: Quat = { x: 0, y: 0, z: 0, w: 1 };
  const v3 = (a: readonly number[]): Vec3 => ({ x: a[0]!, y: a[1]!, z: a[2]! });
  const line = (points: Vec3[], c: string, width = 2) => ({
    type: 0, pose: { position: { x: 0, y: 0, z: 0 }, orientation: ident }, thickness: width, scale_invariant: true, points, color: color(c), colors: [], indices: [],
  });
  switch (o.kind) {
    case 'marker':
      return entity(id, t, { spheres: [{ pose: { position: v3(o.p), orientation: ident }, size: { x: 2 * o.radiusM, y: 2 * o.radiusM, z: 2 * o.radiusM }, color: color(o.color) }] });
    case 'zone':
      return entity(id, t, { cubes: [{ pose: { position: v3(o.center), orientation: ident }, size: { x: 2 * o.halfExtentsM[0], y: 0.002, z: 2 * o.halfExtentsM[1] }, color: color(o.color, 0.5) }] });
    case 'polyline': {
      const pts: Vec3[] = [];
      for (let i = 0; i + 2 < o.points.length; i += 3) pts.push({ x: o.points[i]!, y: o.points[i + 1]!, z: o.points[i + 2]! });
      return entity(id, t, { lines: [line(pts, o.color, o.widthPx)] });
    }
    case 'arrow':
      return entity(id, t, { lines: [line([v3(o.from), v3(o.to)], o.color, 3)] });
    default:
      return null;
  }
}

const IDENT: Quat = { x: 0, y: 0, z: 0, w: 1 };
const ORIGIN: Vec3 = { x: 0, y: 0, z: 0 };

/** The one transform from Foxglove's Z-up `world` to Stride's Y-up frame. */
export function frameTransform(ns: bigint) {
  return { timestamp: time(ns), parent_frame_id: 'world', child_frame_id: FOXGLOVE_FRAME, translation: { x: 0, y: 0, z: 0 }, rotation: { x: S, y: 0, z: 0, w: S } };
}

/** Frame name of a moving visual. */
export const visualFrame = (id: number): string => `v${id}`;

/**
 * Turns an episode's RenderScene + RenderFrames into SceneUpdate and FrameTransforms messages: entities once, then
 * per-step transforms; overlays only when they change.
 */
export class FoxgloveScene {
  private readonly byId: Map<number, RenderVisual>;
  /** Overlay id → JSON of what was last sent (to send only changes). */
  private readonly sentOverlays = new Map<string, string>();

  constructor(private readonly scene: RenderScene) {
    this.byId = new Map(scene.visuals.map((v) => [v.id, v]));
  }

  /** At reset: delete everything, send every visual (moving ones in their own frame) and the frame's overlays. */
  initial(frame: RenderFrame, ns: bigint) {
    const t = time(ns);
    const posed = new Set(frame.ids);
    const entities: unknown[] = [];
    for (const v of this.scene.visuals) {
      if (posed.has(v.id)) { entities.push(visualEntity(v, ORIGIN, IDENT, t, visualFrame(v.id))); continue; }
      const a = v.pose ?? [0, 0, 0, 0, 0, 0, 1];
      entities.push(visualEntity(v, { x: a[0]!, y: a[1]!, z: a[2]! }, { x: a[3]!, y: a[4]!, z: a[5]!, w: a[6]! }, t));
    }
    this.sentOverlays.clear();
    const o = this.overlays(frame, ns);
    return { deletions: [{ timestamp: t, type: 1, id: '' }], entities: [...entities, ...o.entities] };
  }

  /** The overlays that appeared or changed since the last call (entities) and those that disappeared (deletions); null when nothing changed. */
  overlays(frame: RenderFrame, ns: bigint): { deletions: unknown[]; entities: unknown[] } {
    const t = time(ns);
    const entities: unknown[] = [], deletions: unknown[] = [];
    const seen = new Set<string>();
    for (const ov of frame.overlays) {
      const e = overlayEntity(ov, t);
      if (!e) continue;
      seen.add(e.id);
      const key = JSON.stringify(ov);
      if (this.sentOverlays.get(e.id) === key) continue;
      this.sentOverlays.set(e.id, key);
      entities.push(e);
    }
    for (const id of [...this.sentOverlays.keys()]) {
      if (seen.has(id)) continue;
      this.sentOverlays.delete(id);
      deletions.push({ timestamp: t, type: 0, id });
    }
    return { deletions, entities };
  }

  /** The transforms that place every moving visual at time `ns` (plus `world` → `stride` when `withRoot`). */
  transforms(frame: RenderFrame, ns: bigint, withRoot: boolean) {
    const t = time(ns);
    const transforms: unknown[] = withRoot ? [frameTransform(ns)] : [];
    const a = frame.poses;
    for (let i = 0; i < frame.ids.length; i++) {
      if (!this.byId.has(frame.ids[i]!)) continue;
      const o = 7 * i;
      transforms.push({
        timestamp: t, parent_frame_id: FOXGLOVE_FRAME, child_frame_id: visualFrame(frame.ids[i]!),
        translation: { x: a[o]!, y: a[o + 1]!, z: a[o + 2]! }, rotation: { x: a[o + 3]!, y: a[o + 4]!, z: a[o + 5]!, w: a[o + 6]! },
      });
    }
    return { transforms };
  }
}

/** The depth camera's frame: optical convention (+Z forward, +X right, +Y down), as Foxglove's camera messages expect. */
export const CAMERA_FRAME = 'depth_camera';

/** A float32 depth image (row-major from the top-left, metres) as a `32FC1` RawImage. */
export function rawDepthImage(depth: Float32Array, widthPx: number, heightPx: number, ns: bigint) {
  return {
    timestamp: time(ns), frame_id: CAMERA_FRAME, width: widthPx, height: heightPx, encoding: '32FC1', step: 4 * widthPx,
    data: Buffer.from(depth.buffer, depth.byteOffset, depth.byteLength).toString('base64'),
  };
}

/** Pinhole intrinsics of a camera with vertical field of view `fovDeg` and square pixels, principal point at the centre. */
export function cameraCalibration(widthPx: number, heightPx: number, fovDeg: number, ns: bigint) {
  const f = heightPx / 2 / Math.tan((fovDeg * Math.PI) / 360);
  const cx = widthPx / 2, cy = heightPx / 2;
  return {
    timestamp: time(ns), frame_id: CAMERA_FRAME, width: widthPx, height: heightPx, distortion_model: 'plumb_bob', D: [0, 0, 0, 0, 0],
    K: [f, 0, cx, 0, f, cy, 0, 0, 1], R: [1, 0, 0, 0, 1, 0, 0, 0, 1], P: [f, 0, cx, 0, 0, f, cy, 0, 0, 0, 1, 0],
  };
}

/** Which `observation.state` entries are joint positions (`q_<name>`) and velocities (`qd_<name>`). */
export function jointIndex(stateNames: readonly string[] | undefined): { name: string; q: number; qd: number }[] {
  if (!stateNames) return [];
  const out: { name: string; q: number; qd: number }[] = [];
  stateNames.forEach((n, i) => { if (n.startsWith('q_')) out.push({ name: n.slice(2), q: i, qd: stateNames.indexOf(`qd_${n.slice(2)}`) }); });
  return out;
}

export function jointStates(state: ArrayLike<number>, joints: readonly { name: string; q: number; qd: number }[], ns: bigint) {
  return {
    timestamp: time(ns),
    joints: joints.map((j) => (j.qd >= 0 ? { name: j.name, position: state[j.q]!, velocity: state[j.qd]! } : { name: j.name, position: state[j.q]! })),
  };
}

/** The official JSON Schemas (`@foxglove/schemas`), keyed by what they carry. */
export const FOXGLOVE_SCHEMAS = {
  frameTransforms: { name: 'foxglove.FrameTransforms', schema: FrameTransforms },
  sceneUpdate: { name: 'foxglove.SceneUpdate', schema: SceneUpdate },
  rawImage: { name: 'foxglove.RawImage', schema: RawImage },
  cameraCalibration: { name: 'foxglove.CameraCalibration', schema: CameraCalibration },
  jointStates: { name: 'foxglove.JointStates', schema: JointStates },
} as const;
