/**
 * Shared runtime helpers of the driving scenes: ego pose from Rapier, agent lists, nearest-lane queries, the
 * leader-on-path query used by the scripted driver and the rater.
 */
import { wrapAngle, yawOf } from '../../sim/math/vec.ts';
import type { World } from '../../sim/physics/index.ts';
import { project, pointAt, segIndex, type Projection, type RoadMap } from './geometry.ts';
import type { Line, StaticObstacle } from './planner.ts';
import type { Veh } from './traffic.ts';

export interface EgoPose { x: number; y: number; h: number; v: number; vx: number; vy: number; yawRate: number }

/** Ego pose in road coordinates (y = −Z) and forward speed, from the chassis body. */
export function egoPose(world: World, chassis: number): EgoPose {
  const b = world.getRigidBody(chassis);
  const t = b.translation(), q = b.rotation(), lv = b.linvel(), av = b.angvel();
  const h = yawOf(q);
  const vx = lv.x, vy = -lv.z;
  return { x: t.x, y: -t.z, h, v: vx * Math.cos(h) + vy * Math.sin(h), vx, vy, yawRate: av.y };
}

/** Ego pose without the yaw rate (3 WASM reads; for the per-substep tracker). */
export function egoPoseFast(world: World, chassis: number): EgoPose {
  const b = world.getRigidBody(chassis);
  const t = b.translation(), q = b.rotation(), lv = b.linvel();
  // Yaw about +Y of a unit quaternion: forward (+X) rotated = (1 − 2(y² + z²), ·, −2(xz − wy)) → atan2(−f.z, f.x).
  const fx = 1 - 2 * (q.y * q.y + q.z * q.z), fz = 2 * (q.x * q.z - q.w * q.y);
  const h = Math.atan2(-fz, fx);
  const vx = lv.x, vy = -lv.z;
  return { x: t.x, y: -t.z, h, v: vx * Math.cos(h) + vy * Math.sin(h), vx, vy, yawRate: 0 };
}

export interface LaneHit { lane: number; s: number; d: number; dh: number }

const pj: Projection = { s: 0, d: 0, dist: 0, h: 0 };

/**
 * Nearest lane whose direction agrees with heading h (|Δ| < 75°); lane = −1 when none within 8 m. With a `hint`
 * lane, that lane, its successors and neighbours are tried first (the common case: still in the same lane).
 */
export function nearestLane(map: RoadMap, x: number, y: number, h: number, preferConn = false, hint = -1, hintS = -1): LaneHit {
  if (hint >= 0) {
    const l = map.lanes[hint]!;
    let out: LaneHit = { lane: -1, s: 0, d: 0, dh: 0 }, best = map.laneWidthM / 2;
    const tryLane = (id: number) => {
      if (id < 0) return;
      const ln = map.lanes[id]!;
      if (!preferConn && ln.kind === 'conn') return;
      if (id === hint && hintS >= 0) {
        // Windowed search around the previous arc length (a car moves < 4 m per control step).
        const i = segIndex(ln.ss, hintS), n = ln.xs.length;
        project(ln, x, y, pj, Math.max(0, i - 8), Math.min(n - 1, i + 12));
      } else project(ln, x, y, pj);
      if (pj.s < -0.5 || pj.s > ln.lengthM + 0.5) return;
      const dh = wrapAngle(h - pj.h);
      if (Math.abs(dh) > (75 * Math.PI) / 180) return;
      if (pj.dist < best) { best = pj.dist; out = { lane: id, s: pj.s, d: pj.d, dh }; }
    };
    tryLane(hint);
    if (out.lane < 0) { for (const n of l.next) tryLane(n); tryLane(l.left); tryLane(l.right); }
    if (out.lane >= 0) return out;
  }
  let best = 8, out: LaneHit = { lane: -1, s: 0, d: 0, dh: 0 };
  const bb = map.laneBoxes;
  for (const l of map.lanes) {
    if (!preferConn && l.kind === 'conn') continue;
    const o = 4 * l.id;
    if (x < bb[o]! - 8 || y < bb[o + 1]! - 8 || x > bb[o + 2]! + 8 || y > bb[o + 3]! + 8) continue;
    project(l, x, y, pj);
    if (pj.s < -1 || pj.s > l.lengthM + 1) continue;
    const dh = wrapAngle(h - pj.h);
    if (Math.abs(dh) > (75 * Math.PI) / 180) continue;
    if (pj.dist < best) { best = pj.dist; out = { lane: l.id, s: pj.s, d: pj.d, dh }; }
  }
  return out;
}

/** Nearest agent (traffic or static, never the ego) in a path's corridor ahead of arc length s0. */
export function leaderOnPath(
  path: Line, s0: number, lookM: number, corridorHalfM: number,
  vehs: readonly Veh[], statics: readonly StaticObstacle[], halfL: number, egoHalfL: number,
): { gap: number; v: number } {
  let gap = Infinity, v = 0;
  const p = { x: 0, y: 0, h: 0 };
  const n = Math.floor(lookM / 2);
  // Pre-sample.
  const xs = new Float64Array(n), ys = new Float64Array(n), hs = new Float64Array(n);
  for (let k = 0; k < n; k++) { pointAt(path, s0 + k * 2, p); xs[k] = p.x; ys[k] = p.y; hs[k] = p.h; }
  const check = (x: number, y: number, h: number, speed: number, hl: number, hw: number) => {
    const lim = corridorHalfM + hw - 0.9;
    const lim2 = lim * lim;
    const dx0 = x - xs[0]!, dy0 = y - ys[0]!;
    if (dx0 * dx0 + dy0 * dy0 > (lookM + 10) * (lookM + 10)) return;
    for (let k = 0; k < n; k++) {
      const dx = x - xs[k]!, dy = y - ys[k]!;
      if (dx * dx + dy * dy < lim2) {
        const g = k * 2 - egoHalfL - hl;
        if (g < gap) { gap = g; v = speed * Math.cos(h - hs[k]!); }
        return;
      }
    }
  };
  for (const t of vehs) check(t.x, t.y, t.h, t.v, halfL, 0.9);
  for (const o of statics) check(o.x, o.y, o.h, 0, o.halfL, o.halfW);
  return { gap, v };
}
