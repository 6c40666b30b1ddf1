/**
 * What the viewer draws. A scene is described once per episode by a RenderScene (one visual per collider: shape,
 * size, colour, which body it rides on) and then per step by a RenderFrame (poses of every visual, overlays, HUD).
 * Coordinates: metres, +Y up, right-handed (three.js and Rapier's default).
 *
 * `describeColliders` / `colliderPoses` read those shapes and poses out of a Rapier world; they live here, not in
 * sim/physics, so the physics module knows nothing of the viewer's shapes.
 */
import { rapier, type Collider, type V3, type World } from '../physics/index.ts';

export type RenderShape =
  | { kind: 'box'; halfExtentsM: [number, number, number] }
  | { kind: 'sphere'; radiusM: number }
  /** Capsule along the local Y axis; total length = 2 * (halfHeightM + radiusM). */
  | { kind: 'capsule'; radiusM: number; halfHeightM: number }
  /** Cylinder along the local Y axis. */
  | { kind: 'cylinder'; radiusM: number; halfHeightM: number }
  /** A wheel: a cylinder whose axis is the local X axis. */
  | { kind: 'wheel'; radiusM: number; widthM: number }
  /** An infinite ground plane at y = 0 (drawn as a large grid). */
  | { kind: 'ground' }
  /**
   * A triangle mesh in the visual's frame (e.g. a URDF link's mesh): x, y, z per vertex (metres, scale applied) and
   * three vertex indices per triangle. `meshId` names the geometry: visuals with the same id share it.
   */
  | { kind: 'mesh'; meshId: string; positions: number[]; indices: number[] };

/** What a scene's `style()` may say about one collider. */
export interface ColliderStyle {
  name?: string;
  color?: string;
  hidden?: boolean;
  /** Draw this shape instead of the collider's own (also makes a sensor collider visible: a visual-only carrier). */
  shape?: RenderShape;
}

export interface RenderVisual {
  /** Stable id within an episode (the collider handle for physics visuals). */
  id: number;
  name: string;
  shape: RenderShape;
  /** CSS colour, e.g. '#d04040'. */
  color: string;
  /** Static visuals never move; the renderer may skip their per-frame updates. */
  isStatic: boolean;
  opacity?: number;
  /** Pose when the scene was described ([px,py,pz,qx,qy,qz,qw]); static visuals keep it, frames omit them. */
  pose?: number[];
}

/** Scene overlays: drawn, never simulated. */
export type Overlay =
  | { kind: 'marker'; id: string; p: [number, number, number]; radiusM: number; color: string }
  | { kind: 'zone'; id: string; center: [number, number, number]; halfExtentsM: [number, number]; color: string }
  | { kind: 'polyline'; id: string; points: number[]; color: string; widthPx?: number; dashed?: boolean }
  | { kind: 'arrow'; id: string; from: [number, number, number]; to: [number, number, number]; color: string }
  | { kind: 'frustum'; id: string; p: [number, number, number]; q: [number, number, number, number]; fovDeg: number; aspect: number; farM: number; color: string }
  | { kind: 'ghost'; id: string; visuals: RenderVisual[]; poses: number[]; color: string }
  /**
   * A flat ribbon along a centre line (xyz per point, metres), `halfWidthM` to each side, drawn just above the
   * ground: road surfaces, kerbs, the intersection box, painted lane markings. Later strips draw over earlier ones.
   */
  | { kind: 'strip'; id: string; points: number[]; halfWidthM: number; color: string; /** Dashed: dash and gap length, metres. */ dashM?: number }
  /** A HUD bar (2D, not in the scene): `value` of `max` (e.g. a residual policy's residual/base magnitude). */
  | { kind: 'bar'; id: string; label: string; value: number; max: number; color: string };

export interface RenderScene {
  sceneId: string;
  visuals: RenderVisual[];
  /** Suggested camera target (e.g. the robot base), metres. */
  focus: [number, number, number];
}

export interface RenderFrame {
  step: number;
  tSec: number;
  /** Visual ids, in the same order as `poses`. */
  ids: number[];
  /** 7 numbers per visual: px, py, pz, qx, qy, qz, qw. */
  poses: number[];
  overlays: Overlay[];
  /** Small key → value table for the HUD (reward terms, success, intent…). */
  hud: Record<string, number | string | boolean>;
}

// --- reading visuals and poses out of a Rapier world -----------------------------------------------------------

function renderShapeOf(c: Collider): RenderShape | null {
  const R = rapier();
  const s = c.shape as unknown as { type: number; halfExtents?: V3; radius?: number; halfHeight?: number };
  switch (s.type) {
    case R.ShapeType.Cuboid: { const h = s.halfExtents!; return { kind: 'box', halfExtentsM: [h.x, h.y, h.z] }; }
    case R.ShapeType.Ball: return { kind: 'sphere', radiusM: s.radius! };
    case R.ShapeType.Capsule: return { kind: 'capsule', radiusM: s.radius!, halfHeightM: s.halfHeight! };
    case R.ShapeType.Cylinder: return { kind: 'cylinder', radiusM: s.radius!, halfHeightM: s.halfHeight! };
    default: return null;
  }
}

/**
 * One visual per collider (in creation order), id = collider handle. `style` lets a scene name and colour its colliders,
 * hide them, or draw another shape in their place (sensors are skipped unless their style gives a shape).
 */
export function describeColliders(world: World, style: (handle: number) => ColliderStyle | undefined = () => undefined): RenderVisual[] {
  const out: RenderVisual[] = [];
  world.forEachCollider((c) => {
    const st = style(c.handle);
    if (st?.hidden || (c.isSensor() && !st?.shape)) return;
    const shape = st?.shape ?? renderShapeOf(c);
    if (!shape) return;
    const parent = c.parent();
    const isStatic = !parent || parent.isFixed();
    const t = c.translation(), r = c.rotation();
    out.push({
      id: c.handle, name: st?.name ?? `collider${c.handle}`, shape, color: st?.color ?? (isStatic ? '#8a8f98' : '#4a90d9'), isStatic,
      pose: [t.x, t.y, t.z, r.x, r.y, r.z, r.w],
    });
  });
  out.sort((a, b) => a.id - b.id);
  return out;
}

/** Flat [px,py,pz,qx,qy,qz,qw] per id. */
export function colliderPoses(world: World, ids: readonly number[]): number[] {
  const out = new Array<number>(ids.length * 7);
  for (let i = 0; i < ids.length; i++) {
    const c = world.getCollider(ids[i]!);
    const t = c.translation(), r = c.rotation();
    out[i * 7] = t.x; out[i * 7 + 1] = t.y; out[i * 7 + 2] = t.z;
    out[i * 7 + 3] = r.x; out[i * 7 + 4] = r.y; out[i * 7 + 5] = r.z; out[i * 7 + 6] = r.w;
  }
  return out;
}
