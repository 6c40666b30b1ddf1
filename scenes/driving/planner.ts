/**
 * Maneuver trajectories and the hidden-cost "rater" of the driving scenes.
 *
 * `generateTrajectory` turns a maneuver (a target path made of lanes, a lateral blend from the ego's current offset
 * to the path centre over an arc length, and a speed mode) into RFS_T ego-frame waypoints at RFS_DT_SEC. The
 * scripted driver calls it every control step (closed loop); the rater calls it once per intent at reset.
 *
 * Rater (`rateScenario`): one candidate per intent (cruise = hold speed in lane, accelerate/decelerate = fixed
 * ±accel in lane, lane changes = IDM-follow in the neighbour lane, turns/U-turn = IDM-follow through the connector),
 * scored by a cost the policy never sees:
 *   collision with traffic predicted at constant speed along its lanes, or a static obstacle ⇒ rating 1–2
 *   (later collisions a bit higher); leaving the road ⇒ 2; otherwise 10 minus penalties for lost progress (≤ 4,
 *   relative to the best safe route-following candidate), taking a connector the route does not ask for (3), an unnecessary
 *   lane change (own lane free, no route reason: 1), ending in the wrong lane
 *   for a turn route (1), tailgating (time gap < 1 s: 1.5), harsh acceleration (> 3 m/s²) or lateral acceleration
 *   (> 3.5 m/s²), and speeding. The three best candidates with distinct labelled intents become the references.
 * An intent is "feasible" in a scenario when its candidate is labelled with that intent and rates ≥ 3.
 */
import { wrapAngle } from '../../sim/math/vec.ts';
import { INTENTS, INTENT_ID, labelIntent, NUM_INTENTS } from './intents.ts';
import { RFS_DT_SEC, RFS_T, type RfsScenario } from './rfs.ts';
import { pointAt, project, segIndex, type Lane, type Projection, type RoadMap, type Turn } from './geometry.ts';
import { boxesOverlap, chooseNext, idmAccel, type IdmParams, type Veh } from './traffic.ts';

export interface Line { xs: Float64Array; ys: Float64Array; hs: Float64Array; ss: Float64Array; lengthM: number }

/** Concatenate lane centre lines into one path; also returns the path arc length where each lane starts. */
export function pathFromLanes(map: RoadMap, ids: readonly number[]): Line & { laneStartS: number[]; laneIds: number[] } {
  let n = 0;
  for (const id of ids) n += map.lanes[id]!.xs.length;
  const xs = new Float64Array(n), ys = new Float64Array(n), hs = new Float64Array(n), ss = new Float64Array(n);
  const laneStartS: number[] = [];
  let k = 0, base = 0;
  for (const id of ids) {
    const l = map.lanes[id]!;
    laneStartS.push(base);
    const skip = k > 0 ? 1 : 0; // the first sample repeats the previous lane's last one
    for (let i = skip; i < l.xs.length; i++) {
      xs[k] = l.xs[i]!; ys[k] = l.ys[i]!; hs[k] = l.hs[i]!; ss[k] = base + l.ss[i]!; k++;
    }
    base += l.lengthM;
  }
  return { xs: xs.subarray(0, k), ys: ys.subarray(0, k), hs: hs.subarray(0, k), ss: ss.subarray(0, k), lengthM: base, laneStartS, laneIds: [...ids] };
}

export type Path = ReturnType<typeof pathFromLanes>;
const pathCache = new WeakMap<RoadMap, Map<string, Path>>();

/** `pathFromLanes`, memoised per road map (paths are pure functions of the map and the lane ids). */
export function cachedPath(map: RoadMap, ids: readonly number[]): Path {
  let m = pathCache.get(map);
  if (!m) { m = new Map(); pathCache.set(map, m); }
  const key = ids.join(',');
  let p = m.get(key);
  if (!p) { p = pathFromLanes(map, ids); m.set(key, p); }
  return p;
}

/** Lanes from `start` taking the successor with turn `turn` at the intersection (straight/right/left fallback). */
export function lanesWithTurn(map: RoadMap, start: number, turn: Turn): number[] {
  const out = [start];
  let lane = map.lanes[start]!;
  while (lane.next.length > 0 && out.length < 4) {
    let nid = -1;
    if (lane.kind === 'in') {
      for (const id of lane.next) if (map.lanes[id]!.turn === turn) nid = id;
      if (nid < 0) nid = chooseNext(map, lane);
    } else nid = lane.next[0]!;
    if (nid < 0) break;
    out.push(nid);
    lane = map.lanes[nid]!;
  }
  return out;
}

export interface Maneuver {
  path: Line;
  /** Path arc length where the lateral blend starts and its length, and the lateral offset there (m, + = left). */
  blendS0: number;
  blendLenM: number;
  blendD0: number;
  /** 'hold': keep v0; 'accel'/'decel': constant accel toward vTarget; 'follow': IDM toward vTarget. */
  mode: 'hold' | 'accel' | 'decel' | 'follow';
  vTargetMps: number;
  accelMps2: number;
  /** A virtual stopped obstacle at this path arc length (yield), or Infinity. */
  stopAtS: number;
  /** Leader on the path at t0 (gap m, speed m/s), followed in 'follow' mode. */
  leadGapM: number;
  leadVMps: number;
  /** Max lateral acceleration used for the curve speed limit, m/s². */
  latAccMps2: number;
}

function smooth5(u: number): number {
  if (u <= 0) return 0;
  if (u >= 1) return 1;
  return u * u * u * (10 - 15 * u + 6 * u * u);
}

const pt = { x: 0, y: 0, h: 0 };

/** Curve speed limit at path arc length s, with a braking preview of `previewM` at decel b. */
function curveLimit(path: Line, s: number, latAcc: number, b: number, previewM: number): number {
  let lim = Infinity;
  for (let a = 0; a <= previewM; a += 3) {
    const ss = s + a;
    if (ss >= path.lengthM - 1) break;
    const i = segIndex(path.ss, ss);
    const ds = path.ss[i + 1]! - path.ss[i]!;
    const k = Math.abs(wrapAngle(path.hs[i + 1]! - path.hs[i]!)) / Math.max(ds, 1e-6);
    const vc = Math.sqrt(latAcc / Math.max(k, 1e-4));
    const v = Math.sqrt(vc * vc + 2 * b * a);
    if (v < lim) lim = v;
  }
  return lim;
}

/**
 * Waypoints of a maneuver from ego state (x, y, h, v) into `out` (RFS_T × 2, ego frame). Also returns the path arc
 * length reached and the max |accel| (for the rater) through `stats` when given.
 */
export function generateTrajectory(
  m: Maneuver, ego: { x: number; y: number; h: number; v: number }, idm: IdmParams, out: Float32Array,
  stats?: { sEnd: number; maxAcc: number; maxLatAcc: number; vMax: number },
): void {
  const proj: Projection = { s: 0, d: 0, dist: 0, h: 0 };
  project(m.path, ego.x, ego.y, proj);
  let s = proj.s, v = Math.max(0, ego.v);
  const s0 = s;
  let gap = m.leadGapM, vLead = m.leadVMps;
  const dt = RFS_DT_SEC;
  const c0 = Math.cos(ego.h), si0 = Math.sin(ego.h);
  let maxAcc = 0, maxLat = 0, vMax = v;
  for (let k = 0; k < RFS_T; k++) {
    let a: number;
    const vCap = curveLimit(m.path, s, m.latAccMps2, 2.5, 40);
    if (m.mode === 'hold') a = 0;
    else if (m.mode === 'accel') a = v < m.vTargetMps ? m.accelMps2 : 0;
    else if (m.mode === 'decel') a = v > m.vTargetMps ? -m.accelMps2 : 0;
    else {
      a = idmAccel(idm, v, Math.min(m.vTargetMps, vCap), gap, v - vLead);
    }
    if (m.mode !== 'follow' && m.mode !== 'hold' && v > vCap) a = Math.min(a, -2);
    if (m.stopAtS < Infinity) {
      const g = m.stopAtS - s - 2.5;
      a = Math.min(a, idmAccel(idm, v, Math.max(m.vTargetMps, 0.1), Math.max(g, 0.05), v));
    }
    let nv = v + a * dt;
    let ds: number;
    if (nv < 0) { ds = (v * v) / Math.max(-2 * a, 1e-9); nv = 0; } else ds = v * dt + 0.5 * a * dt * dt;
    if (Math.abs(a) > maxAcc) maxAcc = Math.abs(a);
    s += ds;
    v = nv;
    if (v > vMax) vMax = v;
    gap += (vLead - (ds / dt)) * dt;
    // Position: path point at s plus the lateral blend.
    pointAt(m.path, s, pt);
    const u = m.blendLenM > 0 ? (s - m.blendS0) / m.blendLenM : 1;
    const d = m.blendD0 * (1 - smooth5(u));
    const px = pt.x - Math.sin(pt.h) * d, py = pt.y + Math.cos(pt.h) * d;
    const dx = px - ego.x, dy = py - ego.y;
    out[2 * k] = dx * c0 + dy * si0;
    out[2 * k + 1] = -dx * si0 + dy * c0;
    const i = segIndex(m.path.ss, s);
    const kap = Math.abs(wrapAngle(m.path.hs[i + 1]! - m.path.hs[i]!)) / Math.max(m.path.ss[i + 1]! - m.path.ss[i]!, 1e-6);
    if (v * v * kap > maxLat) maxLat = v * v * kap;
  }
  if (stats) { stats.sEnd = s - s0; stats.maxAcc = maxAcc; stats.maxLatAcc = maxLat; stats.vMax = vMax; }
}

// --- prediction & collision -----------------------------------------------------------------------------------

/** Pose of a traffic vehicle after tSec at constant speed along its lanes (no lane changes). */
export function predictVeh(map: RoadMap, v: Veh, tSec: number, out: { x: number; y: number; h: number }): void {
  let lane: Lane = map.lanes[v.lane]!;
  let s = v.s + v.v * tSec;
  let next = v.nextLane;
  while (s > lane.lengthM && next >= 0) {
    s -= lane.lengthM;
    lane = map.lanes[next]!;
    next = chooseNext(map, lane);
  }
  pointAt(lane, Math.min(s, lane.lengthM), out);
  const ex = s - lane.lengthM;
  if (ex > 0) { out.x += Math.cos(out.h) * ex; out.y += Math.sin(out.h) * ex; }
  // Lateral offset of a lane change in progress is held (a conservative prediction).
  out.x -= Math.sin(out.h) * v.lat;
  out.y += Math.cos(out.h) * v.lat;
}

export interface StaticObstacle { x: number; y: number; h: number; halfL: number; halfW: number; collider: number; kind: 'cone' | 'car' }

export interface Prediction {
  /** Per time step k (t = (k+1)·dt) and traffic vehicle j: x, y, h, v. */
  traffic: Float64Array;
  nVeh: number;
  statics: StaticObstacle[];
  halfL: number;
  halfW: number;
}

export function predictTraffic(map: RoadMap, vehs: Veh[], statics: StaticObstacle[], halfL: number, halfW: number): Prediction {
  const tr = new Float64Array(RFS_T * vehs.length * 4);
  const o = { x: 0, y: 0, h: 0 };
  for (let k = 0; k < RFS_T; k++) {
    for (let j = 0; j < vehs.length; j++) {
      predictVeh(map, vehs[j]!, (k + 1) * RFS_DT_SEC, o);
      const b = (k * vehs.length + j) * 4;
      tr[b] = o.x; tr[b + 1] = o.y; tr[b + 2] = o.h; tr[b + 3] = vehs[j]!.v;
    }
  }
  return { traffic: tr, nVeh: vehs.length, statics, halfL, halfW };
}

export interface CandidateEval { collideT: number; offRoad: boolean; minTimeGapSec: number }

/** Collision / off-road / time-gap check of an ego-frame trajectory against a prediction. */
export function evalCandidate(
  traj: Float32Array, ego: { x: number; y: number; h: number; v: number }, pred: Prediction, egoHalfL: number, egoHalfW: number,
  onRoad: (x: number, y: number) => boolean,
): CandidateEval {
  const c = Math.cos(ego.h), s = Math.sin(ego.h);
  let px = 0, py = 0, hh = 0;
  let collideT = Infinity, offRoad = false, minGap = Infinity;
  const inflate = 0.2;
  for (let k = 0; k < RFS_T; k++) {
    const lx = traj[2 * k]!, ly = traj[2 * k + 1]!;
    const sx = lx - px, sy = ly - py;
    if (sx * sx + sy * sy > 1e-4) hh = Math.atan2(sy, sx);
    px = lx; py = ly;
    const wx = ego.x + lx * c - ly * s, wy = ego.y + lx * s + ly * c, wh = ego.h + hh;
    const vk = Math.sqrt(sx * sx + sy * sy) / RFS_DT_SEC;
    if (!onRoad(wx, wy)) offRoad = true;
    const cw = Math.cos(wh), sw = Math.sin(wh);
    for (let j = 0; j < pred.nVeh; j++) {
      const b = (k * pred.nVeh + j) * 4;
      const ox = pred.traffic[b]!, oy = pred.traffic[b + 1]!;
      const dx = ox - wx, dy = oy - wy;
      if (dx * dx + dy * dy > 100) continue;
      if (collideT === Infinity && boxesOverlap(wx, wy, wh, egoHalfL + inflate, egoHalfW + inflate, ox, oy, pred.traffic[b + 2]!, pred.halfL, pred.halfW)) {
        collideT = (k + 1) * RFS_DT_SEC;
      }
      const lon = dx * cw + dy * sw, lat = -dx * sw + dy * cw;
      if (lon > 0 && Math.abs(lat) < 1.8 && vk > 1) {
        const g = (lon - egoHalfL - pred.halfL) / vk;
        if (g < minGap) minGap = g;
      }
    }
    for (const o of pred.statics) {
      const dx = o.x - wx, dy = o.y - wy;
      if (dx * dx + dy * dy > 64) continue;
      if (collideT === Infinity && boxesOverlap(wx, wy, wh, egoHalfL + inflate, egoHalfW + inflate, o.x, o.y, o.h, o.halfL, o.halfW)) {
        collideT = (k + 1) * RFS_DT_SEC;
      }
    }
  }
  return { collideT, offRoad, minTimeGapSec: minGap };
}

// --- rater --------------------------------------------------------------------------------------------------------

export interface RaterInput {
  map: RoadMap;
  ego: { x: number; y: number; h: number; v: number };
  egoHalfL: number;
  egoHalfW: number;
  /** Lane the ego is in at t0. */
  egoLane: number;
  routeTurn: Turn;
  /** Lane index (0 = innermost) a turn route must be in at the stop line; −1 for straight routes. */
  routeLaneIndex: number;
  vCruiseMps: number;
  speedLimitMps: number;
  idm: IdmParams;
  pred: Prediction;
  onRoad: (x: number, y: number) => boolean;
  /** Leader finder on a path: gap (m) and speed (m/s) of the nearest agent in the path corridor at t0. */
  leaderOn: (path: Line) => { gap: number; v: number };
}

export interface Candidate { intent: number; traj: Float32Array; rating: number; label: number; exists: boolean }

/** Maneuver for an intent from the ego's lane (null when the road has no such option). */
export function intentManeuver(inp: RaterInput, intent: number): Maneuver | null {
  const { map, ego } = inp;
  const lane = map.lanes[inp.egoLane]!;
  const name = INTENTS[intent]!;
  let lanes: number[];
  let mode: Maneuver['mode'] = 'follow';
  let vT = Math.max(ego.v, inp.vCruiseMps);
  let acc = 0;
  let latAcc = 2.5;
  const ownTurn: Turn = inp.routeTurn === 'straight' || inp.routeTurn === 'none' ? 'straight' : inp.routeTurn;
  switch (name) {
    case 'cruise': lanes = lanesWithTurn(map, lane.id, 'straight'); mode = 'hold'; vT = ego.v; break;
    case 'accelerate': lanes = lanesWithTurn(map, lane.id, ownTurn); mode = 'accel'; acc = 2; vT = Math.max(inp.speedLimitMps, ego.v + 2.5); break;
    case 'decelerate': lanes = lanesWithTurn(map, lane.id, ownTurn); mode = 'decel'; acc = 2.5; vT = Math.max(0, ego.v - 5); break;
    case 'lane-change-left':
      if (lane.left < 0) return null;
      lanes = lanesWithTurn(map, lane.left, 'straight'); break;
    case 'lane-change-right':
      if (lane.right < 0) return null;
      lanes = lanesWithTurn(map, lane.right, 'straight'); break;
    case 'turn-left': case 'turn-right': case 'u-turn': {
      const t: Turn = name === 'turn-left' ? 'left' : name === 'turn-right' ? 'right' : 'uturn';
      if (lane.kind !== 'in' || !lane.next.some((id) => map.lanes[id]!.turn === t)) return null;
      lanes = lanesWithTurn(map, lane.id, t);
      vT = Math.min(vT, inp.vCruiseMps);
      if (t === 'uturn') latAcc = 3;
      break;
    }
    default: return null;
  }
  const path = cachedPath(map, lanes);
  const proj: Projection = { s: 0, d: 0, dist: 0, h: 0 };
  project(path, ego.x, ego.y, proj);
  const lead = mode === 'follow' ? inp.leaderOn(path) : { gap: Infinity, v: 0 };
  const isLc = name === 'lane-change-left' || name === 'lane-change-right';
  return {
    path, blendS0: proj.s, blendLenM: isLc ? Math.max(20, ego.v * 3.2) : Math.max(8, ego.v * 1.5), blendD0: proj.d,
    mode, vTargetMps: vT, accelMps2: acc, stopAtS: Infinity, leadGapM: lead.gap, leadVMps: lead.v, latAccMps2: latAcc,
  };
}

/** One candidate per intent, rated by the hidden cost. */
export function rateCandidates(inp: RaterInput): Candidate[] {
  const cands: Candidate[] = [];
  const stats = { sEnd: 0, maxAcc: 0, maxLatAcc: 0, vMax: 0 };
  const evals: (CandidateEval & { sEnd: number; maxAcc: number; maxLatAcc: number; vMax: number; m: Maneuver })[] = [];
  for (let i = 0; i < NUM_INTENTS; i++) {
    const m = intentManeuver(inp, i);
    const traj = new Float32Array(RFS_T * 2);
    if (!m) { cands.push({ intent: i, traj, rating: 0, label: -1, exists: false }); evals.push(null as never); continue; }
    generateTrajectory(m, inp.ego, inp.idm, traj, stats);
    const ev = evalCandidate(traj, inp.ego, inp.pred, inp.egoHalfL, inp.egoHalfW, inp.onRoad);
    evals.push({ ...ev, ...stats, m });
    cands.push({ intent: i, traj, rating: 0, label: labelIntent(traj, inp.ego.v), exists: true });
  }
  // Route consistency per candidate: the connector reached within the horizon (if any) and the lane it ends in.
  const want: Turn = inp.routeTurn === 'none' ? 'straight' : inp.routeTurn;
  const mismatch = new Array<boolean>(NUM_INTENTS).fill(false);
  const wrongLane = new Array<boolean>(NUM_INTENTS).fill(false);
  for (let i = 0; i < NUM_INTENTS; i++) {
    const e = evals[i];
    if (!e) continue;
    const path = e.m.path as Path;
    let reachedTurn: Turn | null = null;
    for (let j = 0; j < path.laneIds.length; j++) {
      const l = inp.map.lanes[path.laneIds[j]!]!;
      if (l.kind === 'conn' && e.m.blendS0 + e.sEnd > path.laneStartS[j]!) reachedTurn = l.turn;
    }
    mismatch[i] = reachedTurn !== null && reachedTurn !== want;
    if (reachedTurn === null && want !== 'straight' && inp.routeLaneIndex >= 0) {
      wrongLane[i] = inp.map.lanes[path.laneIds[0]!]!.index !== inp.routeLaneIndex;
    }
  }
  // Progress is judged against the best safe candidate that follows the route (any safe one if none does).
  let bestProgress = 1, bestAny = 1;
  for (let i = 0; i < NUM_INTENTS; i++) {
    const e = evals[i];
    if (!e || e.collideT < Infinity || e.offRoad) continue;
    if (e.sEnd > bestAny) bestAny = e.sEnd;
    if (!mismatch[i] && e.sEnd > bestProgress) bestProgress = e.sEnd;
  }
  if (bestProgress <= 1) bestProgress = bestAny;
  const ce = evals[INTENT_ID.cruise];
  const ownLaneFree = !!ce && ce.collideT === Infinity && !ce.offRoad && ce.minTimeGapSec >= 2;
  for (let i = 0; i < NUM_INTENTS; i++) {
    const c = cands[i]!, e = evals[i];
    if (!c.exists || !e) continue;
    if (e.collideT < Infinity) { c.rating = 1 + e.collideT / 5; continue; }
    if (e.offRoad) { c.rating = 2; continue; }
    let r = 10;
    r -= 4 * Math.max(0, 1 - e.sEnd / bestProgress);
    if (mismatch[i]) r -= 3;
    if (wrongLane[i]) r -= 1;
    // Rule term: an unnecessary lane change (own lane safe and not slow, no route reason) costs 1.
    const name = INTENTS[i]!;
    if ((name === 'lane-change-left' || name === 'lane-change-right') && ownLaneFree && !(want !== 'straight' && inp.routeLaneIndex >= 0 && !wrongLane[i])) r -= 1;
    if (e.minTimeGapSec < 1) r -= 1.5 * Math.min(1, (1 - e.minTimeGapSec));
    if (e.maxAcc > 3) r -= 0.5 * (e.maxAcc - 3);
    if (e.maxLatAcc > 3.5) r -= Math.min(2, 0.5 * (e.maxLatAcc - 3.5));
    if (e.vMax > inp.speedLimitMps + 1) r -= Math.min(3, (e.vMax - inp.speedLimitMps - 1) * 0.5);
    c.rating = Math.max(0, Math.min(10, r));
  }
  return cands;
}

/** References (≤ 3, distinct labels, best first) and per-intent feasibility from rated candidates. */
export function buildRfsScenario(v0: number, cands: Candidate[]): { scenario: RfsScenario; feasible: boolean[]; ratingByIntent: number[] } {
  const order = cands.filter((c) => c.exists).sort((a, b) => b.rating - a.rating || a.intent - b.intent);
  const refs: number[] = [], ratings: number[] = [], refIntents: number[] = [];
  const used = new Set<number>();
  for (const c of order) {
    if (used.has(c.label)) continue;
    used.add(c.label);
    refs.push(...Array.from(c.traj, (x) => Math.fround(x)));
    ratings.push(Math.round(c.rating * 1000) / 1000);
    refIntents.push(c.label);
    if (ratings.length === 3) break;
  }
  const feasible = new Array<boolean>(NUM_INTENTS).fill(false);
  const ratingByIntent = new Array<number>(NUM_INTENTS).fill(0);
  for (const c of cands) {
    if (!c.exists) continue;
    ratingByIntent[c.intent] = Math.round(c.rating * 1000) / 1000;
    if (c.label === c.intent && c.rating >= 3) feasible[c.intent] = true;
  }
  return { scenario: { v0, refs, ratings, refIntents }, feasible, ratingByIntent };
}

export { INTENT_ID };
