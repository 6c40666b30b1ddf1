/**
 * Traffic for the driving scenes: kinematic vehicles that follow lanes with IDM (longitudinal) and MOBIL (lane
 * changes), a stop-controlled minor road, and seeded respawning. Plain data only (it lives in the scene state);
 * the scene moves the kinematic Rapier bodies to the poses computed here.
 *
 * Leader detection ("who is in my path"): each vehicle samples its own path ahead (current lane, then the lane it
 * will take next) every 2 m up to `lookaheadM`; any other agent — traffic, the ego, a static obstacle — whose centre
 * is within `corridorHalfM` of a sample is an obstacle at that path distance. So vehicles react to the ego (a car
 * cutting in or turning across their lane) exactly like to each other.
 *
 * Intersection: the main road (arms 0, 2) has priority. Cross-road vehicles (arms 1, 3) stop at the stop line and
 * enter only when the box is empty and no main-road agent (the ego included) is within `gapSec` of the box.
 */
import { Rng } from '../../sim/math/rng.ts';
import { pointAt, segIndex, type Lane, type RoadMap } from './geometry.ts';

export interface IdmParams {
  /** Max acceleration, m/s². */ aMaxMps2: number;
  /** Comfortable deceleration, m/s². */ bCompMps2: number;
  /** Time headway, s. */ headwaySec: number;
  /** Jam distance, m. */ minGapM: number;
  /** Hard braking limit, m/s². */ bMaxMps2: number;
}

export interface MobilParams {
  politeness: number;
  /** Acceleration gain needed to change lanes, m/s². */ thresholdMps2: number;
  /** The new follower may not need to brake harder than this, m/s². */ bSafeMps2: number;
  /** Bias toward the right lane, m/s². */ keepRightMps2: number;
  /** Duration of a lane change, s. */ durationSec: number;
  /** Minimum time between two lane changes of one vehicle, s. */ cooldownSec: number;
}

export interface TrafficParams {
  idm: IdmParams;
  mobil: MobilParams;
  lookaheadM: number;
  corridorHalfM: number;
  /** Cross traffic needs this much time gap to main-road agents before entering the box, s. */
  gapSec: number;
  vehicleHalfLM: number;
  vehicleHalfWM: number;
  /** Spawn: a lane start must be free for this distance, m. */
  spawnClearM: number;
}

/** One traffic vehicle (plain data). */
export interface Veh {
  body: number;
  lane: number;
  /** Lane to take at the end of `lane` (−1: none → respawn). */
  nextLane: number;
  s: number;
  v: number;
  /** Desired speed, m/s. */
  v0: number;
  /** Lateral offset from the lane centre (lane changes), m; decays as lat0 · (1 + cos(π·lcT/T)) / 2. */
  lat: number;
  lat0: number;
  lcT: number;
  cooldown: number;
  /** Cross-road vehicle allowed into the box. */
  go: boolean;
  /** Pose (x, y, heading) after the last update. */
  x: number; y: number; h: number;
  /** Last commanded acceleration, m/s². */
  a: number;
}

/** Agents visible to traffic and to the ego's observations. kind: 0 ego, 1 traffic, 2 static. */
export interface Agents {
  n: number;
  x: Float64Array; y: Float64Array; h: Float64Array; v: Float64Array;
  halfL: Float64Array; halfW: Float64Array; kind: Int8Array;
}

export function makeAgents(cap: number): Agents {
  return {
    n: 0, x: new Float64Array(cap), y: new Float64Array(cap), h: new Float64Array(cap), v: new Float64Array(cap),
    halfL: new Float64Array(cap), halfW: new Float64Array(cap), kind: new Int8Array(cap),
  };
}

export function pushAgent(a: Agents, x: number, y: number, h: number, v: number, halfL: number, halfW: number, kind: number): void {
  const i = a.n++;
  a.x[i] = x; a.y[i] = y; a.h[i] = h; a.v[i] = v; a.halfL[i] = halfL; a.halfW[i] = halfW; a.kind[i] = kind;
}

/** IDM acceleration for speed v, desired v0, gap to the leader (m, Infinity if none) and closing speed dv = v − vLead. */
export function idmAccel(p: IdmParams, v: number, v0: number, gap: number, dv: number): number {
  const free = 1 - Math.pow(v / Math.max(v0, 0.1), 4);
  let a = p.aMaxMps2 * free;
  if (gap < 1e6) {
    const sStar = p.minGapM + Math.max(0, v * p.headwaySec + (v * dv) / (2 * Math.sqrt(p.aMaxMps2 * p.bCompMps2)));
    const g = Math.max(gap, 0.05);
    a -= p.aMaxMps2 * (sStar / g) * (sStar / g);
  }
  return a < -p.bMaxMps2 ? -p.bMaxMps2 : a;
}

const tmpP = { x: 0, y: 0, h: 0 };

/** Pose of a vehicle from (lane, s, lat). */
export function vehPose(map: RoadMap, v: Veh): void {
  const lane = map.lanes[v.lane]!;
  pointAt(lane, Math.min(v.s, lane.lengthM), tmpP);
  const extra = v.s - lane.lengthM;
  let x = tmpP.x, y = tmpP.y;
  if (extra > 0) { x += Math.cos(tmpP.h) * extra; y += Math.sin(tmpP.h) * extra; }
  const dLat = v.lcT > 0 && v.v > 0.1 ? latRate(v) / v.v : 0;
  v.x = x - Math.sin(tmpP.h) * v.lat;
  v.y = y + Math.cos(tmpP.h) * v.lat;
  v.h = tmpP.h + Math.atan(dLat);
}

let mobilDur = 3;
function latRate(v: Veh): number {
  // d/dt of lat0·(1 + cos(π t / T)) / 2
  return (-v.lat0 * Math.PI * Math.sin((Math.PI * v.lcT) / mobilDur)) / (2 * mobilDur);
}

/** Choose the lane a vehicle takes after `lane`: straight if possible, else right, else left. */
export function chooseNext(map: RoadMap, lane: Lane): number {
  if (lane.kind === 'conn') return lane.next[0] ?? -1;
  if (lane.kind === 'out') return -1;
  let best = -1, rank = 9;
  for (const id of lane.next) {
    const t = map.lanes[id]!.turn;
    const r = t === 'straight' ? 0 : t === 'right' ? 1 : t === 'left' ? 2 : 9;
    if (r < rank) { rank = r; best = id; }
  }
  return best;
}

export interface TrafficContext {
  map: RoadMap;
  p: TrafficParams;
  /** Ego pose/speed and footprint (kind 0 agent). */
  ego: { x: number; y: number; h: number; v: number; halfL: number; halfW: number };
  /** Static obstacles (kind 2). */
  statics: { x: number; y: number; h: number; halfL: number; halfW: number }[];
  /** Lanes new vehicles may enter on (incoming lanes of open arms). */
  spawnLanes: number[];
}

function inBox(map: RoadMap, x: number, y: number, m: number): boolean {
  return Math.abs(x) < map.boxHalfXM + m && Math.abs(y) < map.boxHalfYM + m;
}

/** Distance from (x, y) to the box edge (0 inside). */
function boxDist(map: RoadMap, x: number, y: number): number {
  const dx = Math.max(0, Math.abs(x) - map.boxHalfXM), dy = Math.max(0, Math.abs(y) - map.boxHalfYM);
  return Math.hypot(dx, dy);
}

let agentBuf: Agents | null = null;
let accBuf = new Float64Array(16);
const pathX = new Float64Array(64), pathY = new Float64Array(64), pathH = new Float64Array(64), pathA = new Float64Array(64);

/** Sample a vehicle's path ahead (from its centre) every SAMPLE_M metres; returns the number of samples. */
const SAMPLE_M = 2.5;
function samplePath(map: RoadMap, v: Veh, lengthM: number): number {
  let lane = map.lanes[v.lane]!;
  let s = v.s;
  let next = v.nextLane;
  let n = 0;
  const lat = v.lat;
  for (let along = 0; along <= lengthM && n < 64; along += SAMPLE_M) {
    let ss = s + along;
    if (ss > lane.lengthM && next >= 0) {
      s -= lane.lengthM;
      lane = map.lanes[next]!;
      next = chooseNext(map, lane);
      ss = s + along;
    }
    // Nearest-sample heading and linear position (samples are ~1 m apart).
    const i = segIndex(lane.ss, ss);
    const s0 = lane.ss[i]!, s1 = lane.ss[i + 1]!;
    const f = (ss - s0) / (s1 - s0 > 1e-12 ? s1 - s0 : 1e-12);
    const hh = lane.hs[f < 0.5 ? i : i + 1]!;
    let x = lane.xs[i]! + (lane.xs[i + 1]! - lane.xs[i]!) * f;
    let y = lane.ys[i]! + (lane.ys[i + 1]! - lane.ys[i]!) * f;
    if (lat !== 0) {
      // Follow the vehicle's own lateral offset near it (lane changes in progress).
      const w = along < 12 ? 1 - along / 12 : 0;
      x -= Math.sin(hh) * lat * w;
      y += Math.cos(hh) * lat * w;
    }
    pathX[n] = x; pathY[n] = y; pathH[n] = hh; pathA[n] = along;
    n++;
  }
  return n;
}

/** Nearest obstacle in a vehicle's path: { gap (m, bumper to bumper), speed along the path }. */
function leaderInPath(ctx: TrafficContext, agents: Agents, self: number, v: Veh, out: { gap: number; vLead: number }): void {
  const p = ctx.p;
  const look = Math.max(p.lookaheadM * 0.5, Math.min(p.lookaheadM, 15 + v.v * 4));
  const n = samplePath(ctx.map, v, look);
  out.gap = Infinity; out.vLead = 0;
  const r2 = (look + 8) * (look + 8);
  for (let j = 0; j < agents.n; j++) {
    if (j === self) continue;
    const ax = agents.x[j]!, ay = agents.y[j]!;
    const dx0 = ax - v.x, dy0 = ay - v.y;
    if (dx0 * dx0 + dy0 * dy0 > r2) continue;
    const lim = p.corridorHalfM + agents.halfW[j]! - p.vehicleHalfWM;
    const lim2 = lim * lim;
    for (let k = 0; k < n; k++) {
      const dx = ax - pathX[k]!, dy = ay - pathY[k]!;
      if (dx * dx + dy * dy < lim2) {
        // Skip agents beside/behind us (centre behind our front) unless overlapping.
        const gap = pathA[k]! - p.vehicleHalfLM - agents.halfL[j]!;
        if (pathA[k]! <= 0.5 && (dx0 * Math.cos(v.h) + dy0 * Math.sin(v.h)) < 0) break;
        if (gap < out.gap) {
          out.gap = gap;
          out.vLead = agents.v[j]! * Math.cos(agents.h[j]! - pathH[k]!);
        }
        break;
      }
    }
  }
}

/**
 * Advance traffic by dt: leaders, stop line, IDM, MOBIL, lane/successor bookkeeping, respawn. Deterministic given
 * the inputs and `rngState` (updated in place).
 */
export function stepTraffic(ctx: TrafficContext, vehs: Veh[], dt: number, rngState: number[]): void {
  const { map, p } = ctx;
  mobilDur = p.mobil.durationSec;
  const need = vehs.length + 1 + ctx.statics.length;
  if (!agentBuf || agentBuf.x.length < need) agentBuf = makeAgents(need * 2);
  const agents = agentBuf;
  agents.n = 0;
  for (const v of vehs) pushAgent(agents, v.x, v.y, v.h, v.v, p.vehicleHalfLM, p.vehicleHalfWM, 1);
  const e = ctx.ego;
  pushAgent(agents, e.x, e.y, e.h, e.v, e.halfL, e.halfW, 0);
  for (const s of ctx.statics) pushAgent(agents, s.x, s.y, s.h, 0, s.halfL, s.halfW, 2);

  // --- intersection permission for cross-road vehicles ---
  let boxBusy = false;
  for (let j = 0; j < agents.n; j++) if (agents.kind[j] !== 2 && inBox(map, agents.x[j]!, agents.y[j]!, 1.5)) boxBusy = true;
  let mainApproaching = false;
  for (const v of vehs) {
    const lane = map.lanes[v.lane]!;
    if (lane.kind === 'in' && lane.arm % 2 === 0) {
      const d = lane.lengthM - v.s;
      if (d < Math.max(15, v.v * p.gapSec)) mainApproaching = true;
    }
  }
  {
    const d = boxDist(map, e.x, e.y);
    const towards = -(e.x * Math.cos(e.h) + e.y * Math.sin(e.h)) > 0;
    if (d > 0 && towards && d < Math.max(15, e.v * p.gapSec)) mainApproaching = true;
  }

  const lead = { gap: Infinity, vLead: 0 };
  if (accBuf.length < vehs.length) accBuf = new Float64Array(vehs.length * 2);
  const acc = accBuf;
  for (let i = 0; i < vehs.length; i++) {
    const v = vehs[i]!;
    leaderInPath(ctx, agents, i, v, lead);
    let gap = lead.gap, vLead = lead.vLead;
    const lane = map.lanes[v.lane]!;
    if (lane.kind === 'in' && lane.arm % 2 === 1 && !v.go) {
      const toLine = lane.lengthM - v.s - p.vehicleHalfLM - 0.5;
      if (toLine < 4 && v.v < 1 && !boxBusy && !mainApproaching) {
        v.go = true;
        boxBusy = true;
      } else if (toLine < gap) {
        gap = Math.max(toLine, 0.05); vLead = 0;
      }
    }
    acc[i] = idmAccel(p.idm, v.v, v.v0, gap, v.v - vLead);
  }

  // --- MOBIL lane changes (lane-based neighbours) ---
  for (let i = 0; i < vehs.length; i++) {
    const v = vehs[i]!;
    v.cooldown = Math.max(0, v.cooldown - dt);
    const lane = map.lanes[v.lane]!;
    if (lane.kind === 'conn' || v.lcT > 0 || v.cooldown > 0) continue;
    if (v.s < 10 || (lane.kind === 'in' && lane.lengthM - v.s < 40) || (lane.kind === 'out' && lane.lengthM - v.s < 30)) continue;
    let bestGain = p.mobil.thresholdMps2, bestLane = -1;
    for (let k = 0; k < 2; k++) {
      const side = k === 0 ? lane.left : lane.right;
      if (side < 0) continue;
      const m = mobilGain(ctx, vehs, agents, i, side, acc[i]!);
      const bias = side === lane.right ? p.mobil.keepRightMps2 : -p.mobil.keepRightMps2;
      if (m !== null && m + bias > bestGain) { bestGain = m + bias; bestLane = side; }
    }
    if (bestLane >= 0) {
      const target = map.lanes[bestLane]!;
      // Same sample index along parallel lanes: carry s over, lateral offset = old centre relative to the new lane.
      const sNew = Math.min(v.s, target.lengthM);
      pointAt(target, sNew, tmpP);
      const lat = -(v.x - tmpP.x) * Math.sin(tmpP.h) + (v.y - tmpP.y) * Math.cos(tmpP.h);
      v.lane = bestLane; v.s = sNew; v.nextLane = chooseNext(map, target);
      v.lat0 = lat; v.lat = lat; v.lcT = 1e-9; v.cooldown = p.mobil.cooldownSec;
    }
  }

  // --- integrate ---
  let rng: Rng | null = null;
  for (let i = 0; i < vehs.length; i++) {
    const v = vehs[i]!;
    let a = acc[i]!;
    let nv = v.v + a * dt;
    let ds: number;
    if (nv < 0) { ds = (v.v * v.v) / Math.max(2 * -a, 1e-9); nv = 0; a = -v.v / dt; } else ds = v.v * dt + 0.5 * a * dt * dt;
    v.v = nv; v.a = a; v.s += ds;
    if (v.lcT > 0) {
      v.lcT += dt;
      if (v.lcT >= p.mobil.durationSec) { v.lcT = 0; v.lat = 0; v.lat0 = 0; } else v.lat = (v.lat0 * (1 + Math.cos((Math.PI * v.lcT) / p.mobil.durationSec))) / 2;
    }
    let lane = map.lanes[v.lane]!;
    while (v.s > lane.lengthM && v.nextLane >= 0) {
      v.s -= lane.lengthM;
      v.lane = v.nextLane;
      lane = map.lanes[v.lane]!;
      v.nextLane = chooseNext(map, lane);
      v.lat = 0; v.lat0 = 0; v.lcT = 0;
      if (lane.kind !== 'conn') v.go = false;
    }
    if (v.s > lane.lengthM && v.nextLane < 0) {
      if (!rng) { rng = new Rng(0); rng.setState(rngState); }
      respawn(ctx, vehs, i, rng);
    }
    vehPose(map, v);
  }
  if (rng) {
    const st = rng.getState();
    for (let k = 0; k < st.length; k++) rngState[k] = st[k]!;
  }
}

/** MOBIL incentive of moving vehicle i into lane `target` (null when unsafe). */
function mobilGain(ctx: TrafficContext, vehs: Veh[], agents: Agents, i: number, target: number, accNow: number): number | null {
  const { map, p } = ctx;
  const v = vehs[i]!;
  const tl = map.lanes[target]!;
  pointAt(tl, Math.min(v.s, tl.lengthM), tmpP);
  // Neighbours in the target lane by signed along-distance, from every agent near the target lane centre line.
  let gapF = Infinity, vF = 0, gapB = Infinity, vB = 0, bIdx = -1;
  const c = Math.cos(tmpP.h), s = Math.sin(tmpP.h);
  for (let j = 0; j < agents.n; j++) {
    if (j === i) continue;
    const dx = agents.x[j]! - tmpP.x, dy = agents.y[j]! - tmpP.y;
    const lon = dx * c + dy * s, lat = -dx * s + dy * c;
    if (Math.abs(lat) > p.corridorHalfM + 0.3 || Math.abs(lon) > 80) continue;
    const g = Math.abs(lon) - p.vehicleHalfLM - agents.halfL[j]!;
    if (g < p.idm.minGapM) return null; // someone alongside
    if (lon > 0 && g < gapF) { gapF = g; vF = agents.v[j]! * Math.cos(agents.h[j]! - tmpP.h); }
    if (lon < 0 && g < gapB) { gapB = g; vB = agents.v[j]! * Math.cos(agents.h[j]! - tmpP.h); bIdx = j; }
  }
  const accNew = idmAccel(p.idm, v.v, v.v0, gapF, v.v - vF);
  let followerLoss = 0;
  if (bIdx >= 0) {
    const v0B = agents.kind[bIdx] === 1 ? vehs[bIdx]!.v0 : Math.max(vB, 1);
    const aBnew = idmAccel(p.idm, vB, v0B, gapB, vB - v.v);
    if (aBnew < -p.mobil.bSafeMps2) return null;
    const aBold = idmAccel(p.idm, vB, v0B, Infinity, 0);
    followerLoss = aBold - aBnew;
  }
  return accNew - accNow - p.mobil.politeness * followerLoss;
}

function respawn(ctx: TrafficContext, vehs: Veh[], i: number, rng: Rng): void {
  const { map, p } = ctx;
  const v = vehs[i]!;
  const tries = Math.min(3, ctx.spawnLanes.length);
  for (let t = 0; t < tries; t++) {
    const laneId = ctx.spawnLanes[rng.int(ctx.spawnLanes.length)]!;
    const lane = map.lanes[laneId]!;
    pointAt(lane, 4, tmpP);
    let free = true;
    const clear2 = p.spawnClearM * p.spawnClearM;
    for (let j = 0; j < vehs.length && free; j++) {
      if (j === i) continue;
      const dx = vehs[j]!.x - tmpP.x, dy = vehs[j]!.y - tmpP.y;
      if (dx * dx + dy * dy < clear2) free = false;
    }
    const dx = ctx.ego.x - tmpP.x, dy = ctx.ego.y - tmpP.y;
    if (dx * dx + dy * dy < clear2) free = false;
    if (!free) continue;
    v.lane = laneId; v.s = 4; v.nextLane = chooseNext(map, lane);
    v.v = Math.min(v.v0, 8); v.lat = 0; v.lat0 = 0; v.lcT = 0; v.go = false; v.cooldown = 2;
    return;
  }
  // No free entry: wait at the end of the map.
  v.s = map.lanes[v.lane]!.lengthM; v.v = 0;
}

/** Oriented-box overlap in 2-D (separating axis test). */
export function boxesOverlap(
  ax: number, ay: number, ah: number, aL: number, aW: number,
  bx: number, by: number, bh: number, bL: number, bW: number,
): boolean {
  const dx = bx - ax, dy = by - ay;
  const ca = Math.cos(ah), sa = Math.sin(ah), cb = Math.cos(bh), sb = Math.sin(bh);
  const axes = [ca, sa, -sa, ca, cb, sb, -sb, cb];
  for (let k = 0; k < 8; k += 2) {
    const ux = axes[k]!, uy = axes[k + 1]!;
    const d = Math.abs(dx * ux + dy * uy);
    const ra = aL * Math.abs(ca * ux + sa * uy) + aW * Math.abs(-sa * ux + ca * uy);
    const rb = bL * Math.abs(cb * ux + sb * uy) + bW * Math.abs(-sb * ux + cb * uy);
    if (d > ra + rb) return false;
  }
  return true;
}
