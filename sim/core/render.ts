/**
 * What the viewer draws. A scene is described once per episode by a RenderScene (one visual per collider: shape,
 * size, colour, which body it rides on) and then per step by a RenderFrame (poses of every visual, overlays, HUD).
 * Coordinates: metres, +Y up, right-handed (three.js and Rapier's default).
 */
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
  | { kind: 'ground' };

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
  | { kind: 'ghost'; id: string; visuals: RenderVisual[]; poses: number[]; color: string };

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
