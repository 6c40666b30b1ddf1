/**
 * Road geometry for the driving scenes: a seeded procedural road network around one 4-way intersection.
 *
 * Frames: all road geometry is 2-D in the ground plane, (x, y) with x = world +X and y = world −Z, so y points to the
 * LEFT of a vehicle heading +X and headings are counter-clockwise yaw about +Y (the same angle `yawOf` returns).
 * `toWorld3` maps (x, y) to the Rapier/three.js position (x, h, −y).
 *
 * Layout: the intersection box is centred at the origin. Four arms leave it: 0 = west (the ego's approach, a main
 * road), 1 = north, 2 = east (main road), 3 = south (cross road). Each arm has a reference centre line (straight,
 * then an arc, then straight — so the network has curves) and `n` lanes per direction on either side of an optional
 * painted median. Traffic drives on the right. Lanes inside the box are connectors (cubic Béziers): straight,
 * left turn (innermost lane → innermost lane), right turn (outermost → outermost) and, on the ego's arm when the
 * median is wide enough, a U-turn (innermost incoming → second outgoing lane of the same arm, or the only one).
 */
import type { Rng } from '../../sim/math/rng.ts';
import { wrapAngle } from '../../sim/math/vec.ts';

export type Turn = 'straight' | 'left' | 'right' | 'uturn' | 'none';

export interface Lane {
  id: number;
  /** 'in' drives toward the box, 'out' away from it; 'conn' is a connector inside the box. */
  kind: 'in' | 'out' | 'conn';
  /** Arm of an arm lane; for a connector the arm it comes from. */
  arm: number;
  /** Lane index counted from the median (0 = innermost = leftmost in driving direction). */
  index: number;
  turn: Turn;
  xs: Float64Array;
  ys: Float64Array;
  /** Heading (rad) of the centre line at each sample. */
  hs: Float64Array;
  /** Cumulative arc length (m) at each sample. */
  ss: Float64Array;
  lengthM: number;
  /** Successor lane ids (connectors for 'in' lanes, the outgoing lane for connectors, none for 'out'). */
  next: number[];
  /** Same-direction neighbour lane ids (−1 when none). */
  left: number;
  right: number;
  /** For connectors: the arm they lead to. */
  toArm: number;
}

export interface Arm {
  /** Reference line samples, starting on the box edge, heading outward. */
  xs: Float64Array;
  ys: Float64Array;
  hs: Float64Array;
  ss: Float64Array;
  lengthM: number;
  lanesPerDir: number;
  medianM: number;
  /** Half-width of the paved road (both directions + median), m. */
  halfWidthM: number;
  /** Lane ids by index (0 = innermost). */
  inLanes: number[];
  outLanes: number[];
  /** Closed arms are blocked by cones at the box edge (turns into them are infeasible). */
  closed: boolean;
  /** Bounding box of the paved arm: minX, minY, maxX, maxY. */
  bbox: [number, number, number, number];
}

export interface RoadMap {
  laneWidthM: number;
  /** Intersection box half extents along x and y, m. */
  boxHalfXM: number;
  boxHalfYM: number;
  arms: Arm[];
  lanes: Lane[];
  /** Per lane: minX, minY, maxX, maxY (for quick rejects). */
  laneBoxes: Float64Array;
}

export interface MapParams {
  laneWidthM: number;
  mainLanes: number;
  crossLanes: number;
  /** Painted median of the main road (arms 0 and 2), m; a U-turn connector exists when ≥ uTurnMinMedianM. */
  medianM: number;
  uTurnMinMedianM: number;
  armLengthM: [number, number];
  /** Arc of the reference line: |angle| range (rad) and radius range (m). */
  curveAngleRad: [number, number];
  curveRadiusM: [number, number];
  /** Straight part before the arc (m). */
  straightBeforeCurveM: [number, number];
  closedArms: boolean[];
}

const ARM_DIRS = [Math.PI, Math.PI / 2, 0, -Math.PI / 2];

export function armLeftOf(a: number): number { return (a + 1) % 4; }
export function armRightOf(a: number): number { return (a + 3) % 4; }
export function armOpposite(a: number): number { return (a + 2) % 4; }

/** Build the road network. Every random choice comes from `rng` (in a fixed order). */
export function buildRoadMap(p: MapParams, rng: Rng): RoadMap {
  const W = p.laneWidthM;
  const boxHalfXM = p.crossLanes * W + 2.5;
  const boxHalfYM = p.medianM / 2 + p.mainLanes * W + 2.5;
  const arms: Arm[] = [];
  const lanes: Lane[] = [];
  for (let a = 0; a < 4; a++) {
    const main = a % 2 === 0;
    const n = main ? p.mainLanes : p.crossLanes;
    const median = main ? p.medianM : 0;
    const h0 = ARM_DIRS[a]!;
    const start = a === 0 ? [-boxHalfXM, 0] : a === 1 ? [0, boxHalfYM] : a === 2 ? [boxHalfXM, 0] : [0, -boxHalfYM];
    const len = rng.uniform(p.armLengthM[0], p.armLengthM[1]);
    const l1 = rng.uniform(p.straightBeforeCurveM[0], p.straightBeforeCurveM[1]);
    const ang = rng.uniform(p.curveAngleRad[0], p.curveAngleRad[1]) * (rng.next() < 0.5 ? -1 : 1);
    const rad = rng.uniform(p.curveRadiusM[0], p.curveRadiusM[1]);
    const ref = refLine(start[0]!, start[1]!, h0, len, l1, ang, rad);
    const hw = median / 2 + n * W;
    let bx0 = Infinity, by0 = Infinity, bx1 = -Infinity, by1 = -Infinity;
    for (let i = 0; i < ref.xs.length; i++) {
      bx0 = Math.min(bx0, ref.xs[i]! - hw); by0 = Math.min(by0, ref.ys[i]! - hw);
      bx1 = Math.max(bx1, ref.xs[i]! + hw); by1 = Math.max(by1, ref.ys[i]! + hw);
    }
    const arm: Arm = { ...ref, lanesPerDir: n, medianM: median, halfWidthM: hw, inLanes: [], outLanes: [], closed: p.closedArms[a] ?? false, bbox: [bx0, by0, bx1, by1] };
    for (let i = 0; i < n; i++) {
      const off = median / 2 + W / 2 + i * W;
      const out = offsetLine(ref, -off, false);
      arm.outLanes.push(pushLane(lanes, { kind: 'out', arm: a, index: i, turn: 'none', ...out, next: [], left: -1, right: -1, toArm: a }));
    }
    for (let i = 0; i < n; i++) {
      const off = median / 2 + W / 2 + i * W;
      const inn = offsetLine(ref, off, true);
      arm.inLanes.push(pushLane(lanes, { kind: 'in', arm: a, index: i, turn: 'none', ...inn, next: [], left: -1, right: -1, toArm: a }));
    }
    for (let i = 0; i < n; i++) {
      lanes[arm.outLanes[i]!]!.left = i > 0 ? arm.outLanes[i - 1]! : -1;
      lanes[arm.outLanes[i]!]!.right = i < n - 1 ? arm.outLanes[i + 1]! : -1;
      lanes[arm.inLanes[i]!]!.left = i > 0 ? arm.inLanes[i - 1]! : -1;
      lanes[arm.inLanes[i]!]!.right = i < n - 1 ? arm.inLanes[i + 1]! : -1;
    }
    arms.push(arm);
  }
  // Connectors.
  for (let a = 0; a < 4; a++) {
    const arm = arms[a]!;
    const n = arm.lanesPerDir;
    for (let i = 0; i < n; i++) {
      const from = lanes[arm.inLanes[i]!]!;
      const opp = arms[armOpposite(a)]!;
      const j = Math.min(i, opp.lanesPerDir - 1);
      if (!opp.closed) connect(lanes, from, lanes[opp.outLanes[j]!]!, 'straight', armOpposite(a));
      if (i === 0) {
        const la = arms[armLeftOf(a)]!;
        if (!la.closed) connect(lanes, from, lanes[la.outLanes[0]!]!, 'left', armLeftOf(a));
        if (a === 0 && arm.medianM >= p.uTurnMinMedianM) connect(lanes, from, lanes[arm.outLanes[Math.min(1, n - 1)]!]!, 'uturn', a);
      }
      if (i === n - 1) {
        const ra = arms[armRightOf(a)]!;
        if (!ra.closed) connect(lanes, from, lanes[ra.outLanes[ra.lanesPerDir - 1]!]!, 'right', armRightOf(a));
      }
    }
  }
  const laneBoxes = new Float64Array(lanes.length * 4);
  for (const l of lanes) {
    let a = Infinity, b = Infinity, c = -Infinity, d = -Infinity;
    for (let i = 0; i < l.xs.length; i++) {
      const x = l.xs[i]!, y = l.ys[i]!;
      if (x < a) a = x; if (y < b) b = y; if (x > c) c = x; if (y > d) d = y;
    }
    laneBoxes[4 * l.id] = a; laneBoxes[4 * l.id + 1] = b; laneBoxes[4 * l.id + 2] = c; laneBoxes[4 * l.id + 3] = d;
  }
  return { laneWidthM: W, boxHalfXM, boxHalfYM, arms, lanes, laneBoxes };
}

function pushLane(lanes: Lane[], l: Omit<Lane, 'id'>): number {
  const id = lanes.length;
  lanes.push({ id, ...l });
  return id;
}

interface Line { xs: Float64Array; ys: Float64Array; hs: Float64Array; ss: Float64Array; lengthM: number }

/** Straight l1, arc (angle, radius), straight rest; sampled every ~1 m. */
function refLine(x0: number, y0: number, h0: number, lengthM: number, l1: number, ang: number, rad: number): Line {
  const n = Math.ceil(lengthM) + 1;
  const ds = lengthM / (n - 1);
  const xs = new Float64Array(n), ys = new Float64Array(n), hs = new Float64Array(n), ss = new Float64Array(n);
  const arcLen = Math.abs(ang) * rad;
  const k = ang / Math.max(arcLen, 1e-9);
  let x = x0, y = y0, h = h0;
  for (let i = 0; i < n; i++) {
    const s = i * ds;
    xs[i] = x; ys[i] = y; hs[i] = h; ss[i] = s;
    // Integrate heading with the curvature at the midpoint (exact enough at 1 m).
    const sm = s + ds / 2;
    const curv = sm > l1 && sm < l1 + arcLen ? k : 0;
    const hm = h + curv * ds / 2;
    x += Math.cos(hm) * ds;
    y += Math.sin(hm) * ds;
    h += curv * ds;
  }
  return { xs, ys, hs, ss, lengthM };
}

/** Offset a line by `d` to its left (negative = right); `reverse` flips its direction. */
function offsetLine(l: Line, d: number, reverse: boolean): Line {
  const n = l.xs.length;
  const xs = new Float64Array(n), ys = new Float64Array(n), hs = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const j = reverse ? n - 1 - i : i;
    const h = l.hs[j]!;
    xs[i] = l.xs[j]! - Math.sin(h) * d;
    ys[i] = l.ys[j]! + Math.cos(h) * d;
    hs[i] = reverse ? wrapAngle(h + Math.PI) : h;
  }
  return finishLine(xs, ys, hs);
}

function finishLine(xs: Float64Array, ys: Float64Array, hs: Float64Array): Line {
  const n = xs.length;
  const ss = new Float64Array(n);
  for (let i = 1; i < n; i++) ss[i] = ss[i - 1]! + Math.hypot(xs[i]! - xs[i - 1]!, ys[i]! - ys[i - 1]!);
  return { xs, ys, hs, ss, lengthM: ss[n - 1]! };
}

function connect(lanes: Lane[], from: Lane, to: Lane, turn: Turn, toArm: number): void {
  const ax = from.xs[from.xs.length - 1]!, ay = from.ys[from.ys.length - 1]!, ah = from.hs[from.hs.length - 1]!;
  const bx = to.xs[0]!, by = to.ys[0]!, bh = to.hs[0]!;
  const chord = Math.hypot(bx - ax, by - ay);
  const k = turn === 'straight' ? chord / 3 : turn === 'uturn' ? chord * 0.667 : chord * 0.39;
  const p1x = ax + Math.cos(ah) * k, p1y = ay + Math.sin(ah) * k;
  const p2x = bx - Math.cos(bh) * k, p2y = by - Math.sin(bh) * k;
  const m = 200;
  // Dense samples, then resampled at ~1 m.
  const dx = new Float64Array(m + 1), dy = new Float64Array(m + 1), ds = new Float64Array(m + 1);
  for (let i = 0; i <= m; i++) {
    const t = i / m, u = 1 - t;
    dx[i] = u * u * u * ax + 3 * u * u * t * p1x + 3 * u * t * t * p2x + t * t * t * bx;
    dy[i] = u * u * u * ay + 3 * u * u * t * p1y + 3 * u * t * t * p2y + t * t * t * by;
    if (i > 0) ds[i] = ds[i - 1]! + Math.hypot(dx[i]! - dx[i - 1]!, dy[i]! - dy[i - 1]!);
  }
  const total = ds[m]!;
  const n = Math.max(2, Math.ceil(total) + 1);
  const xs = new Float64Array(n), ys = new Float64Array(n), hs = new Float64Array(n);
  let j = 0;
  for (let i = 0; i < n; i++) {
    const s = (total * i) / (n - 1);
    while (j < m - 1 && ds[j + 1]! < s) j++;
    const f = (s - ds[j]!) / Math.max(ds[j + 1]! - ds[j]!, 1e-12);
    xs[i] = dx[j]! + (dx[j + 1]! - dx[j]!) * f;
    ys[i] = dy[j]! + (dy[j + 1]! - dy[j]!) * f;
    hs[i] = Math.atan2(dy[j + 1]! - dy[j]!, dx[j + 1]! - dx[j]!);
  }
  hs[0] = ah; hs[n - 1] = bh;
  const line = finishLine(xs, ys, hs);
  const id = pushLane(lanes, { kind: 'conn', arm: from.arm, index: from.index, turn, ...line, next: [to.id], left: -1, right: -1, toArm });
  from.next.push(id);
}

// --- queries ----------------------------------------------------------------------------------------------------

/** Sample index i with ss[i] ≤ s < ss[i+1] (clamped). */
export function segIndex(ss: Float64Array, s: number): number {
  const n = ss.length;
  if (s <= 0) return 0;
  if (s >= ss[n - 1]!) return n - 2;
  // Samples are ~1 m apart: guess then walk.
  let i = Math.min(n - 2, Math.max(0, Math.floor((s / ss[n - 1]!) * (n - 1))));
  while (i > 0 && ss[i]! > s) i--;
  while (i < n - 2 && ss[i + 1]! <= s) i++;
  return i;
}

/** Point and heading at arc length s along a line (linear extrapolation past either end). Writes into `out`. */
export function pointAt(l: Line, s: number, out: { x: number; y: number; h: number }): void {
  const i = segIndex(l.ss, s);
  const s0 = l.ss[i]!, s1 = l.ss[i + 1]!;
  const f = (s - s0) / Math.max(s1 - s0, 1e-12);
  const x0 = l.xs[i]!, y0 = l.ys[i]!, x1 = l.xs[i + 1]!, y1 = l.ys[i + 1]!;
  out.x = x0 + (x1 - x0) * f;
  out.y = y0 + (y1 - y0) * f;
  const h0 = l.hs[i]!;
  out.h = f <= 0 ? l.hs[0]! : f >= 1 ? l.hs[i + 1]! : h0 + wrapAngle(l.hs[i + 1]! - h0) * f;
}

export interface Projection { s: number; d: number; dist: number; h: number }

/**
 * Project (x, y) onto a line: arc length s, signed lateral offset d (+ = left of the line), |d|, line heading.
 * Searches samples [i0, i1) (the whole line by default).
 */
export function project(l: Line, x: number, y: number, out: Projection, i0 = 0, i1 = l.xs.length - 1): void {
  let best = Infinity, bi = i0;
  for (let i = i0; i < i1; i++) {
    const dx = x - l.xs[i]!, dy = y - l.ys[i]!;
    const d2 = dx * dx + dy * dy;
    if (d2 < best) { best = d2; bi = i; }
  }
  // Refine on the segment after (or before) the closest sample.
  let i = bi < l.xs.length - 1 ? bi : bi - 1;
  let sx = l.xs[i + 1]! - l.xs[i]!, sy = l.ys[i + 1]! - l.ys[i]!;
  let L2 = sx * sx + sy * sy;
  let t = ((x - l.xs[i]!) * sx + (y - l.ys[i]!) * sy) / Math.max(L2, 1e-12);
  if (t < 0 && i > 0) {
    i--;
    sx = l.xs[i + 1]! - l.xs[i]!; sy = l.ys[i + 1]! - l.ys[i]!;
    L2 = sx * sx + sy * sy;
    t = ((x - l.xs[i]!) * sx + (y - l.ys[i]!) * sy) / Math.max(L2, 1e-12);
  }
  const first = i === 0, last = i === l.xs.length - 2;
  if (!first && t < 0) t = 0;
  if (!last && t > 1) t = 1;
  const L = Math.sqrt(L2);
  const px = l.xs[i]! + sx * t, py = l.ys[i]! + sy * t;
  const cross = (sx * (y - l.ys[i]!) - sy * (x - l.xs[i]!)) / Math.max(L, 1e-12);
  out.s = l.ss[i]! + t * L;
  out.d = cross;
  out.dist = Math.hypot(x - px, y - py);
  out.h = Math.atan2(sy, sx);
}

/** True when (x, y) is on the paved road: inside the box or within an arm's half-width (+ margin). */
export function onRoad(map: RoadMap, x: number, y: number, marginM: number, scratch: Projection): boolean {
  if (Math.abs(x) <= map.boxHalfXM + marginM && Math.abs(y) <= map.boxHalfYM + marginM) return true;
  for (const arm of map.arms) {
    const b = arm.bbox;
    if (x < b[0] - marginM || y < b[1] - marginM || x > b[2] + marginM || y > b[3] + marginM) continue;
    project(arm, x, y, scratch);
    if (scratch.s >= -marginM && scratch.s <= arm.lengthM + marginM && Math.abs(scratch.d) <= arm.halfWidthM + marginM) return true;
  }
  return false;
}

/** Map 2-D road coordinates to a 3-D world position at height hM. */
export function toWorld3(x: number, y: number, hM: number): [number, number, number] {
  return [x, hM, -y];
}
