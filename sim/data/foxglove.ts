/**
 * Foxglove's own schemas for recordings, so Foxglove opens a Stride MCAP in its 3D panel:
 * - `/foxglove/tf` (`foxglove.FrameTransform`): one transform per episode from Foxglove's Z-up `world` frame to
 *   Stride's Y-up `stride` frame (+90° about X).
 * - `/foxglove/scene` (`foxglove.SceneUpdate`): one entity per visual (`v<id>`) and per overlay (`o:<id>`); at each
 *   reset every entity is deleted and every visual re-sent, then each step re-sends the moving visuals and overlays.
 *
 * Shapes map onto Foxglove primitives: box → cube, sphere → sphere, cylinder/wheel → cylinder (Foxglove's axis is
 * local Z, ours Y / X), capsule → cylinder + two spheres, mesh → triangle list (indexed), ground → a thin large cube. Overlays: marker → sphere, zone →
 * flat cube, polyline/arrow → line strip; frustums and ghosts are not drawn.
 */
import type { Overlay, RenderFrame, RenderScene, RenderVisual } from '../core/render.ts';
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

function entity(id: string, t: Time, parts: Record<string, unknown[]>) {
  return {
    timestamp: t, frame_id: FOXGLOVE_FRAME, id, lifetime: { sec: 0, nsec: 0 }, frame_locked: false, metadata: [],
    arrows: [], cubes: [], spheres: [], cylinders: [], lines: [], triangles: [], texts: [], models: [], ...parts,
  };
}

function visualEntity(v: RenderVisual, p: Vec3, q: Quat, t: Time) {
  const c = color(v.color, v.opacity ?? 1);
  const s = v.shape;
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

/** The one transform from Foxglove's Z-up `world` to Stride's Y-up frame. */
export function frameTransform(ns: bigint) {
  return { timestamp: time(ns), parent_frame_id: 'world', child_frame_id: FOXGLOVE_FRAME, translation: { x: 0, y: 0, z: 0 }, rotation: { x: S, y: 0, z: 0, w: S } };
}

/** Turns an episode's RenderScene + RenderFrames into SceneUpdate messages. */
export class FoxgloveScene {
  private readonly byId: Map<number, RenderVisual>;

  constructor(private readonly scene: RenderScene) {
    this.byId = new Map(scene.visuals.map((v) => [v.id, v]));
  }

  /** At reset: delete everything, send every visual (frame poses for moving ones, initial poses for static ones). */
  initial(frame: RenderFrame, ns: bigint) {
    const t = time(ns);
    const posed = new Set(frame.ids);
    const statics = this.scene.visuals.filter((v) => !posed.has(v.id)).map((v) => {
      const a = v.pose ?? [0, 0, 0, 0, 0, 0, 1];
      return visualEntity(v, { x: a[0]!, y: a[1]!, z: a[2]! }, { x: a[3]!, y: a[4]!, z: a[5]!, w: a[6]! }, t);
    });
    const u = this.update(frame, ns);
    return { deletions: [{ timestamp: t, type: 1, id: '' }], entities: [...statics, ...u.entities] };
  }

  /** After a step: the moving visuals and the overlays. */
  update(frame: RenderFrame, ns: bigint) {
    const t = time(ns);
    const entities = [];
    for (let i = 0; i < frame.ids.length; i++) {
      const v = this.byId.get(frame.ids[i]!);
      if (!v) continue;
      const a = frame.poses, o = 7 * i;
      entities.push(visualEntity(v, { x: a[o]!, y: a[o + 1]!, z: a[o + 2]! }, { x: a[o + 3]!, y: a[o + 4]!, z: a[o + 5]!, w: a[o + 6]! }, t));
    }
    for (const ov of frame.overlays) {
      const e = overlayEntity(ov, t);
      if (e) entities.push(e);
    }
    return { deletions: [], entities };
  }
}

const num = { type: 'number' };
const vec = { type: 'object', properties: { x: num, y: num, z: num } };
const quat = { type: 'object', properties: { x: num, y: num, z: num, w: num } };
const timeSchema = { type: 'object', properties: { sec: { type: 'integer' }, nsec: { type: 'integer' } } };

export const FOXGLOVE_SCHEMAS = {
  frameTransform: {
    name: 'foxglove.FrameTransform',
    schema: {
      title: 'foxglove.FrameTransform', type: 'object',
      properties: { timestamp: timeSchema, parent_frame_id: { type: 'string' }, child_frame_id: { type: 'string' }, translation: vec, rotation: quat },
    },
  },
  sceneUpdate: {
    name: 'foxglove.SceneUpdate',
    schema: {
      title: 'foxglove.SceneUpdate', type: 'object',
      properties: {
        deletions: { type: 'array', items: { type: 'object', properties: { timestamp: timeSchema, type: { type: 'integer' }, id: { type: 'string' } } } },
        entities: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              timestamp: timeSchema, frame_id: { type: 'string' }, id: { type: 'string' }, lifetime: timeSchema, frame_locked: { type: 'boolean' },
              cubes: { type: 'array' }, spheres: { type: 'array' }, cylinders: { type: 'array' }, lines: { type: 'array' },
              arrows: { type: 'array' }, triangles: { type: 'array' }, texts: { type: 'array' }, models: { type: 'array' }, metadata: { type: 'array' },
            },
          },
        },
      },
    },
  },
} as const;
