/**
 * driving/intersection — an ego car (Rapier ray-cast vehicle) on a seeded procedural road network with one 4-way
 * intersection, IDM/MOBIL traffic, static obstacles, a route, eight maneuver intents and a rater-preference score.
 *
 * Episode: the ego starts on the west arm heading toward the intersection. Success = reaching `goalAlongM` along
 * the route's exit arm (route completion). Collision (ego footprint overlaps a traffic car or a static obstacle) or
 * leaving the paved road ⇒ terminated. Time limit ⇒ truncated.
 *
 * Action (actionMode 'trajectory', default): 20 waypoints (x, y) in the ego frame at the time of the action
 * (x forward, y left, metres), 0.25 s apart (5 s at 4 Hz) — DIAL's output. A tracker follows the latest
 * trajectory every physics step:
 *   - pure pursuit: the target is the point `Ld = clamp(lookaheadBaseM + lookaheadGainSec·v, min, max)` metres ahead
 *     of the ego's projection on the waypoint polyline (extended along its last segment); steer =
 *     atan(2·wheelBase·sin α / Ld), α the target's bearing; clamped to ±maxSteerRad and rate-limited;
 *   - speed PID: the reference speed v_ref(t) is read off the waypoint spacing at t + previewSec, corrected by the
 *     along-track position error (posGain · (s_ref(t) − s_ego)); force = mass·(a_ref + speedGain·(v_cmd − v) +
 *     speedI·∫e), positive → engine force on the rear wheels, negative → reverse engine force while rolling, a
 *     holding brake when the command is ~0 and the car is nearly stopped.
 * Action (actionMode 'lowlevel'): [accel, steer] in [−1, 1] (accel ≥ 0 → engine force × maxEngineN, < 0 → braking
 * force × maxBrakeN; steer × maxSteerRad).
 *
 * Observation `observation.state` (98): see STATE_NAMES — ego speed/yaw rate/accel/steer, lane offset/heading
 * error/lane index/lane count/neighbour lanes, route command one-hot, distance to the stop line and goal, the k = 8
 * nearest agents (traffic and static obstacles) relative pose/velocity in the ego frame, and the route lane centre
 * line 5…40 m ahead in the ego frame. Optional `observation.occupancy` (uint8 top-down raster, ego-centred).
 *
 * Scene state: plain data; the road map (`$map`) is regenerated from `mapSeed` and the vehicle controller (`$vc`)
 * is recreated in `rebind` with the inputs kept in `ctrl`, so snapshot/restore is bit-exact.
 *
 * Files: state.ts (config, state, shared lookups) ← scenario.ts (the episode builder), ego_control.ts (vehicle +
 * tracker), driver.ts (the scripted expert) ← this file (observation, reward, render: the SceneDef). No circle.
 */
import { ACTION, OBS_STATE, defineScene, type FeatureSpec, type Observation, type Overlay } from '../../sim/core/index.ts';
import { quatFromYaw } from '../../sim/math/vec.ts';
import type { World } from '../../sim/physics/index.ts';
import { pointAt, project, segIndex, type Projection, type RoadMap, type Turn } from './geometry.ts';
import { INTENTS, labelIntent, NUM_INTENTS } from './intents.ts';
import { cachedPath, lanesWithTurn } from './planner.ts';
import { prepareRfs, rfs, RFS_DT_SEC, RFS_T, trustRegionHit, type RfsScenario } from './rfs.ts';
import { boxesOverlap, stepTraffic } from './traffic.ts';
import { egoPose, nearestLane, type EgoPose } from './world.ts';
import { controlSubstep, setPlan, vcOf } from './ego_control.ts';
import { scriptedDriver } from './driver.ts';
import { buildState } from './scenario.ts';
import { CAR_HALF_H, defaultConfig, isOnRoad, mapOf, trafficParams, type DrivingConfig, type DrivingState } from './state.ts';

export {
  defaultConfig, isOnRoad, mapOf, SCENARIO_KINDS, type DrivingConfig, type DrivingState, type EgoCtrl, type Feasibility, type ScenarioKind,
} from './state.ts';

export const OBS_OCCUPANCY = 'observation.occupancy';

export const STATE_NAMES: readonly string[] = (() => {
  const n = ['speed', 'yawRate', 'accel', 'steer', 'laneOffset', 'headingErr', 'laneIndex', 'lanesInDir', 'hasLeftLane', 'hasRightLane', 'inBox',
    'route.straight', 'route.left', 'route.right', 'route.uturn', 'distToStopLine', 'requiredLaneDelta', 'distToGoal'];
  for (let k = 0; k < 8; k++) for (const f of ['x', 'y', 'cosdh', 'sindh', 'vx', 'vy', 'static', 'present']) n.push(`agent${k}.${f}`);
  for (let k = 1; k <= 8; k++) n.push(`lane${k * 5}m.x`, `lane${k * 5}m.y`);
  return n;
})();
const EGO_FEATS = 18;

const scratchProj: Projection = { s: 0, d: 0, dist: 0, h: 0 };

// --- observation helpers ------------------------------------------------------------------------------------------

function routeTurnIdx(t: Turn): number { return t === 'left' ? 1 : t === 'right' ? 2 : t === 'uturn' ? 3 : 0; }

function inBox(map: RoadMap, x: number, y: number): boolean {
  return Math.abs(x) <= map.boxHalfXM && Math.abs(y) <= map.boxHalfYM;
}

/** Lanes the ego follows from its current lane toward its route. */
function routeLanesFrom(map: RoadMap, h: DrivingState, laneId: number): number[] {
  return lanesWithTurn(map, laneId, h.route.turn);
}

const goalCache = new WeakMap<RoadMap, Map<string, { x: number; y: number }>>();
function goalPoint(map: RoadMap, h: DrivingState, cfg: DrivingConfig): { x: number; y: number } {
  let m = goalCache.get(map);
  if (!m) { m = new Map(); goalCache.set(map, m); }
  const key = `${h.route.goalArm}:${cfg.scenario.goalAlongM}`;
  let g = m.get(key);
  if (!g) { g = goalPointUncached(map, h, cfg); m.set(key, g); }
  return g;
}
function goalPointUncached(map: RoadMap, h: DrivingState, cfg: DrivingConfig): { x: number; y: number } {
  const arm = map.arms[h.route.goalArm]!;
  const lane = map.lanes[arm.outLanes[0]!]!;
  const q = { x: 0, y: 0, h: 0 };
  pointAt(lane, cfg.scenario.goalAlongM, q);
  return { x: q.x, y: q.y };
}

function checkSuccess(map: RoadMap, h: DrivingState, cfg: DrivingConfig, ego: EgoPose): boolean {
  const arm = map.arms[h.route.goalArm]!;
  const b = arm.bbox;
  if (ego.x < b[0] || ego.y < b[1] || ego.x > b[2] || ego.y > b[3]) return false;
  if (Math.abs(ego.x) <= map.boxHalfXM && Math.abs(ego.y) <= map.boxHalfYM) return false;
  project(arm, ego.x, ego.y, scratchProj);
  return scratchProj.s >= cfg.scenario.goalAlongM && scratchProj.s <= arm.lengthM && scratchProj.d < 0.5 && scratchProj.d > -arm.halfWidthM - 0.5;
}

function observeState(world: World, h: DrivingState, cfg: DrivingConfig): Float32Array {
  const map = mapOf(h);
  const ego = egoPose(world, h.chassis);
  const K = cfg.obs.kNearest;
  const out = new Float32Array(EGO_FEATS + K * 8 + 16);
  const lh = h.laneHit;
  const lane = lh.lane >= 0 ? map.lanes[lh.lane]! : null;
  out[0] = ego.v; out[1] = ego.yawRate; out[2] = h.accel; out[3] = h.ctrl.steerRad;
  out[4] = lane ? lh.d : 0; out[5] = lane ? lh.dh : 0;
  if (lane && lane.kind !== 'conn') {
    out[6] = lane.index; out[7] = map.arms[lane.arm]!.lanesPerDir; out[8] = lane.left >= 0 ? 1 : 0; out[9] = lane.right >= 0 ? 1 : 0;
  }
  out[10] = inBox(map, ego.x, ego.y) ? 1 : 0;
  out[11 + routeTurnIdx(h.route.turn)] = 1;
  let distStop = 0;
  if (lane && lane.kind === 'in') distStop = Math.min(100, lane.lengthM - lh.s);
  out[15] = distStop;
  out[16] = h.route.laneIndex >= 0 && lane && lane.kind === 'in' ? h.route.laneIndex - lane.index : 0;
  const g = goalPoint(map, h, cfg);
  out[17] = Math.min(200, Math.hypot(g.x - ego.x, g.y - ego.y));
  // k nearest agents.
  const c = Math.cos(ego.h), s = Math.sin(ego.h);
  const cand: { d: number; x: number; y: number; h: number; vx: number; vy: number; st: number }[] = [];
  const r2 = cfg.obs.agentRangeM * cfg.obs.agentRangeM;
  for (const v of h.traffic) {
    const dx = v.x - ego.x, dy = v.y - ego.y, d = dx * dx + dy * dy;
    if (d < r2) cand.push({ d, x: dx, y: dy, h: v.h, vx: v.v * Math.cos(v.h) - ego.vx, vy: v.v * Math.sin(v.h) - ego.vy, st: 0 });
  }
  for (const o of h.statics) {
    const dx = o.x - ego.x, dy = o.y - ego.y, d = dx * dx + dy * dy;
    if (d < r2) cand.push({ d, x: dx, y: dy, h: o.h, vx: -ego.vx, vy: -ego.vy, st: 1 });
  }
  cand.sort((a, b) => a.d - b.d);
  for (let k = 0; k < Math.min(K, cand.length); k++) {
    const a = cand[k]!, o = EGO_FEATS + k * 8;
    out[o] = a.x * c + a.y * s; out[o + 1] = -a.x * s + a.y * c;
    out[o + 2] = Math.cos(a.h - ego.h); out[o + 3] = Math.sin(a.h - ego.h);
    out[o + 4] = a.vx * c + a.vy * s; out[o + 5] = -a.vx * s + a.vy * c;
    out[o + 6] = a.st; out[o + 7] = 1;
  }
  // Route lane centre line ahead.
  const o = EGO_FEATS + K * 8;
  if (lane) {
    const path = cachedPath(map, routeLanesFrom(map, h, lane.id));
    const q = { x: 0, y: 0, h: 0 };
    for (let k = 0; k < 8; k++) {
      pointAt(path, lh.s + 5 * (k + 1), q);
      const dx = q.x - ego.x, dy = q.y - ego.y;
      out[o + 2 * k] = dx * c + dy * s; out[o + 2 * k + 1] = -dx * s + dy * c;
    }
  }
  return out;
}

function occupancy(h: DrivingState, cfg: DrivingConfig, ego: EgoPose): Uint8Array {
  const N = cfg.obs.occupancyCells, cell = cfg.obs.occupancyCellM;
  const map = mapOf(h);
  const out = new Uint8Array(N * N);
  const c = Math.cos(ego.h), s = Math.sin(ego.h);
  // Row r = forward (top = far ahead), column = lateral (left to right). 0 off-road, 128 road, 255 occupied.
  for (let r = 0; r < N; r++) {
    for (let q = 0; q < N; q++) {
      const lx = (N / 2 - r - 0.5) * cell + (N / 4) * cell, ly = (N / 2 - q - 0.5) * cell;
      const x = ego.x + lx * c - ly * s, y = ego.y + lx * s + ly * c;
      let v = isOnRoad(map, x, y) ? 128 : 0;
      for (const t of h.traffic) {
        if (Math.abs(t.x - x) < 3 && Math.abs(t.y - y) < 3 && boxesOverlap(x, y, 0, cell / 2, cell / 2, t.x, t.y, t.h, 2.25, 0.9)) { v = 255; break; }
      }
      if (v !== 255) for (const o of h.statics) {
        if (Math.abs(o.x - x) < 3 && Math.abs(o.y - y) < 3 && boxesOverlap(x, y, 0, cell / 2, cell / 2, o.x, o.y, o.h, o.halfL, o.halfW)) { v = 255; break; }
      }
      out[r * N + q] = v;
    }
  }
  return out;
}

/** Executed ego trajectory so far (ego frame at t0), padded with the last position to RFS_T points. */
export function executedTrajectory(h: DrivingState): Float32Array {
  const out = new Float32Array(RFS_T * 2);
  const [x0, y0, h0] = h.egoT0;
  const c = Math.cos(h0), s = Math.sin(h0);
  for (let k = 0; k < RFS_T; k++) {
    const j = Math.min(k + 1, h.egoHistN - 1);
    const dx = h.egoHist[2 * j]! - x0, dy = h.egoHist[2 * j + 1]! - y0;
    out[2 * k] = dx * c + dy * s; out[2 * k + 1] = -dx * s + dy * c;
  }
  return out;
}

// --- the scene ----------------------------------------------------------------------------------------------------

export const drivingIntersection = defineScene<DrivingConfig, DrivingState>({
  id: 'driving/intersection',
  family: 'driving',
  description: 'Ray-cast-vehicle ego on a seeded road network with a 4-way intersection, IDM/MOBIL traffic, 8 intents and a rater-preference score (RFS).',
  defaultConfig,
  configRanges: {
    'traffic.numVehicles': { min: 0, max: 64, int: true },
    'traffic.politeness': { min: 0, max: 1 },
    'obs.kNearest': { min: 0, max: 32, int: true },
  },

  features(cfg) {
    const obs: Record<string, FeatureSpec> = {
      [OBS_STATE]: { kind: 'state', shape: [EGO_FEATS + cfg.obs.kNearest * 8 + 16], dtype: 'float32', names: cfg.obs.kNearest === 8 ? STATE_NAMES : undefined, units: 'm, m/s, rad (ego frame: x forward, y left)' },
    };
    if (cfg.obs.occupancy) obs[OBS_OCCUPANCY] = { kind: 'image', shape: [cfg.obs.occupancyCells, cfg.obs.occupancyCells], dtype: 'uint8', low: 0, high: 255, units: '0 off-road, 128 road, 255 occupied; row 0 = ahead' };
    const action: FeatureSpec = cfg.actionMode === 'lowlevel'
      ? { kind: 'action', shape: [2], dtype: 'float32', low: -1, high: 1, names: ['accel', 'steer'] }
      : { kind: 'action', shape: [RFS_T, 2], dtype: 'float32', low: -100, high: 100, units: 'm, ego frame (x forward, y left), waypoint k at (k+1)·0.25 s' };
    if (cfg.actionMode !== 'lowlevel' && cfg.actionMode !== 'trajectory') throw new Error(`driving: actionMode must be 'trajectory' or 'lowlevel', got '${cfg.actionMode}'`);
    return { observation: obs, action: { [ACTION]: action } };
  },

  build(world, cfg, rng) {
    const h = buildState(world, cfg, rng);
    vcOf(world, h, cfg);
    return h;
  },

  applyAction(world, h, action, cfg) {
    const map = mapOf(h);
    const ego = egoPose(world, h.chassis);
    if (cfg.actionMode === 'lowlevel') h.lowLevel = [action[0]!, action[1]!];
    else setPlan(h, ego, action);
    // Traffic moves once per control step (kinematic targets reached at the first substep).
    const tp = trafficParams(cfg);
    stepTraffic({
      map, p: tp, ego: { x: ego.x, y: ego.y, h: ego.h, v: ego.v, halfL: cfg.ego.halfLengthM, halfW: cfg.ego.halfWidthM },
      statics: h.statics, spawnLanes: spawnLanesOf(map),
    }, h.traffic, cfg.ctrlDtSec, h.trafficRng);
    for (const v of h.traffic) {
      const b = world.getRigidBody(v.body);
      b.setNextKinematicTranslation({ x: v.x, y: CAR_HALF_H, z: -v.y });
      b.setNextKinematicRotation(quatFromYaw(v.h));
    }
  },

  beforeSubstep(world, h, cfg) {
    controlSubstep(world, h, cfg);
  },

  afterStep(world, h, cfg) {
    const map = mapOf(h);
    const ego = egoPose(world, h.chassis);
    h.tSec += cfg.ctrlDtSec;
    h.accel = (ego.v - h.prevSpeed) / cfg.ctrlDtSec;
    h.prevSpeed = ego.v;
    // History at 0.25 s marks (ctrlDtSec divides 0.25 s or equals it).
    const k = Math.round(h.tSec / RFS_DT_SEC);
    if (Math.abs(h.tSec - k * RFS_DT_SEC) < 1e-6 && k <= RFS_T && k === h.egoHistN) {
      h.egoHist[2 * k] = ego.x; h.egoHist[2 * k + 1] = ego.y; h.egoHistN = k + 1;
    }
    // Collision and road checks.
    const e = cfg.ego;
    for (const v of h.traffic) {
      if (Math.abs(v.x - ego.x) < 6 && Math.abs(v.y - ego.y) < 6 && boxesOverlap(ego.x, ego.y, ego.h, e.halfLengthM, e.halfWidthM, v.x, v.y, v.h, 2.25, 0.9)) h.collided = true;
    }
    for (const o of h.statics) {
      if (Math.abs(o.x - ego.x) < 6 && Math.abs(o.y - ego.y) < 6 && boxesOverlap(ego.x, ego.y, ego.h, e.halfLengthM, e.halfWidthM, o.x, o.y, o.h, o.halfL, o.halfW)) h.collided = true;
    }
    if (!isOnRoad(map, ego.x, ego.y)) h.offRoad = true;
    const lh = nearestLane(map, ego.x, ego.y, ego.h, true, h.laneHit.lane, h.laneHit.s);
    h.laneHit = lh;
    h.laneOffsetM = lh.lane >= 0 ? lh.d : 3;
    h.progressM = Math.max(0, ego.v * Math.cos(lh.lane >= 0 ? lh.dh : 0)) * cfg.ctrlDtSec;
    h.success = checkSuccess(map, h, cfg, ego);
  },

  observe(world, h, cfg) {
    const state = observeState(world, h, cfg);
    if (!cfg.obs.occupancy) return { [OBS_STATE]: state };
    const ego = egoPose(world, h.chassis);
    return { [OBS_STATE]: state, [OBS_OCCUPANCY]: occupancy(h, cfg, ego) } as Observation;
  },

  rewardTerms(world, h) {
    return {
      progress: h.progressM,
      collision: h.collided ? -1 : 0,
      offRoad: h.offRoad ? -1 : 0,
      laneCenter: -Math.min(2, Math.abs(h.laneOffsetM)),
      comfort: -(h.accel * h.accel),
      success: h.success ? 1 : 0,
    };
  },

  isSuccess: (world, h) => h.success && !h.collided && !h.offRoad,
  terminalReason: (world, h) => (h.collided ? 'collision' : h.offRoad ? 'off-road' : null),

  metrics(world, h, cfg, done) {
    const ego = egoPose(world, h.chassis);
    const m: Record<string, number> = { speedMps: ego.v, laneOffsetM: h.laneOffsetM, collided: h.collided ? 1 : 0, offRoad: h.offRoad ? 1 : 0 };
    if (done) {
      const traj = executedTrajectory(h);
      const crashedEarly = (h.collided || h.offRoad) && h.tSec <= RFS_T * RFS_DT_SEC + 1e-9;
      const prep = prepareRfs(h.rfs, { floor: cfg.rfs.floor, decay: cfg.rfs.decay });
      m.rfs = crashedEarly ? 0 : rfs(traj, prep);
      m.rfsTrustRegionHit = trustRegionHit(traj, prep) ? 1 : 0;
      m.executedIntent = labelIntent(traj, h.egoT0[3]);
      m.feasibleIntents = h.feasible.filter(Boolean).length;
    }
    return m;
  },

  rebind(world, h, cfg) {
    h.$map = undefined;
    h.$vc = undefined;
    h.$lastInputs = undefined;
    h.$planLen = undefined;
    h.$planCum = undefined;
    mapOf(h);
    vcOf(world, h, cfg);
  },

  render(world, h, cfg) {
    const map = mapOf(h);
    const overlays: Overlay[] = [];
    const Y = 0.03;
    // Static road overlays are sampled coarsely (every 8 m on arms, 3 m in the box) and rounded to cm.
    const r2 = (v: number) => Math.round(v * 100) / 100;
    // Road surface first (drawn under the markings): kerbs, then asphalt per arm and the intersection box, a few cm
    // apart in height so they never fight over depth.
    const centre = map.arms.map((arm) => {
      const pts: number[] = [];
      for (let i = 0; i < arm.xs.length; i += 8) pts.push(r2(arm.xs[i]!), 0, r2(-arm.ys[i]!));
      const last = arm.xs.length - 1;
      if (last % 8) pts.push(r2(arm.xs[last]!), 0, r2(-arm.ys[last]!));
      return pts;
    });
    const at = (pts: number[], y: number) => pts.map((v, i) => (i % 3 === 1 ? y : v));
    const bx = map.boxHalfXM, by = map.boxHalfYM;
    centre.forEach((pts, a) => overlays.push({ kind: 'strip', id: `kerb${a}`, points: at(pts, 0.006), halfWidthM: r2(map.arms[a]!.halfWidthM + 0.3), color: '#b9bcc0' }));
    overlays.push({ kind: 'strip', id: 'box-kerb', points: [-bx - 0.3, 0.006, 0, bx + 0.3, 0.006, 0], halfWidthM: r2(by + 0.3), color: '#b9bcc0' });
    centre.forEach((pts, a) => overlays.push({ kind: 'strip', id: `road${a}`, points: at(pts, 0.014), halfWidthM: r2(map.arms[a]!.halfWidthM), color: '#4a4f57' }));
    overlays.push({ kind: 'strip', id: 'box', points: [-bx, 0.018, 0, bx, 0.018, 0], halfWidthM: r2(by), color: '#50555d' });
    // Painted markings on each arm: dashed white between lanes of one direction, solid yellow at the median.
    map.arms.forEach((arm, a) => {
      const line = (off: number) => {
        const pts: number[] = [];
        for (let i = 0; i < arm.xs.length; i += 4) { const hh = arm.hs[i]!; pts.push(r2(arm.xs[i]! - Math.sin(hh) * off), 0.024, r2(-(arm.ys[i]! + Math.cos(hh) * off))); }
        return pts;
      };
      const half = arm.medianM / 2;
      for (const side of [1, -1]) {
        for (let k = 1; k < arm.lanesPerDir; k++) overlays.push({ kind: 'strip', id: `mark${a}${side > 0 ? 'L' : 'R'}${k}`, points: line(side * (half + k * map.laneWidthM)), halfWidthM: 0.07, color: '#f4f4f4', dashM: 3 });
        if (half > 0.1 || side > 0) overlays.push({ kind: 'strip', id: `median${a}${side > 0 ? 'L' : 'R'}`, points: line(side * half), halfWidthM: 0.07, color: '#e3b341' });
      }
    });
    for (const l of map.lanes) {
      // Lane centre lines only inside the box (the connectors' paths); the arms have painted markings.
      if (l.kind !== 'conn') continue;
      const pts: number[] = [];
      const step = l.kind === 'conn' ? 3 : 8;
      for (let i = 0; i < l.xs.length - 1; i += step) pts.push(r2(l.xs[i]!), Y, r2(-l.ys[i]!));
      pts.push(r2(l.xs[l.xs.length - 1]!), Y, r2(-l.ys[l.ys.length - 1]!));
      overlays.push({ kind: 'polyline', id: `lane${l.id}`, points: pts, color: l.kind === 'conn' ? '#7d8590' : '#c9d1d9', dashed: true, widthPx: 1 });
    }
    map.arms.forEach((arm, a) => {
      for (const side of [1, -1]) {
        const pts: number[] = [];
        for (let i = 0; i < arm.xs.length; i += 8) {
          const hh = arm.hs[i]!, off = side * arm.halfWidthM;
          pts.push(r2(arm.xs[i]! - Math.sin(hh) * off), Y, r2(-(arm.ys[i]! + Math.cos(hh) * off)));
        }
        overlays.push({ kind: 'polyline', id: `edge${a}${side > 0 ? 'L' : 'R'}`, points: pts, color: '#f0f0f0', widthPx: 2 });
      }
    });
    const ego = egoPose(world, h.chassis);
    const lh = h.laneHit;
    if (lh.lane >= 0) {
      const path = cachedPath(map, routeLanesFrom(map, h, lh.lane));
      const pts: number[] = [];
      for (let i = 0; i < path.xs.length; i += 4) pts.push(r2(path.xs[i]!), Y + 0.01, r2(-path.ys[i]!));
      overlays.push({ kind: 'polyline', id: 'route', points: pts, color: '#2f81f7', widthPx: 3 });
    }
    const g = goalPoint(map, h, cfg);
    overlays.push({ kind: 'marker', id: 'goal', p: [g.x, 0.3, -g.y], radiusM: 0.8, color: '#3fb950' });
    let intent = -1;
    if (cfg.actionMode === 'trajectory') {
      const pts: number[] = [];
      for (let k = 0; k <= RFS_T; k++) pts.push(h.plan[2 * k]!, 0.5, -h.plan[2 * k + 1]!);
      overlays.push({ kind: 'polyline', id: 'plan', points: pts, color: '#f0883e', widthPx: 3 });
      // Intent of the current plan (ego frame at the plan origin), drawn as an arrow to the plan's end.
      const c = Math.cos(ego.h), s = Math.sin(ego.h);
      const local = new Float32Array(RFS_T * 2);
      for (let k = 0; k < RFS_T; k++) {
        const dx = h.plan[2 + 2 * k]! - h.plan[0]!, dy = h.plan[3 + 2 * k]! - h.plan[1]!;
        local[2 * k] = dx * c + dy * s; local[2 * k + 1] = -dx * s + dy * c;
      }
      intent = labelIntent(local, Math.max(0, ego.v));
      overlays.push({ kind: 'arrow', id: 'intent', from: [ego.x, 2, -ego.y], to: [h.plan[2 * RFS_T]!, 2, -h.plan[2 * RFS_T + 1]!], color: '#d2a8ff' });
    }
    const hud: Record<string, number | string | boolean> = {
      scenario: h.kind, route: h.route.turn, speedMps: Number(ego.v.toFixed(2)), laneOffsetM: Number(h.laneOffsetM.toFixed(2)),
      feasible: INTENTS.filter((_, i) => h.feasible[i]).join(','),
      refs: h.rfs.refIntents.map((i, j) => `${INTENTS[i]}:${h.rfs.ratings[j]}`).join(' '),
    };
    if (intent >= 0) hud.intent = INTENTS[intent]!;
    return { overlays, hud };
  },

  style(h, handle) {
    if (handle === h.ground) return { name: 'ground', color: '#3b3f45' };
    if (handle === h.chassisCollider) return { name: 'ego', color: '#e5534b' };
    const ti = h.trafficColliders.indexOf(handle);
    if (ti >= 0) return { name: `car${ti}`, color: '#539bf5' };
    const so = h.statics.find((o) => o.collider === handle);
    if (so) return { name: so.kind === 'cone' ? 'cone' : 'parked-car', color: so.kind === 'cone' ? '#f69d50' : '#768390' };
    return undefined;
  },

  expert: (cfg) => scriptedDriver(cfg),
});

const spawnCache = new WeakMap<RoadMap, number[]>();
function spawnLanesOf(map: RoadMap): number[] {
  let s = spawnCache.get(map);
  if (!s) {
    s = [];
    for (const arm of map.arms) if (!arm.closed) s.push(...arm.inLanes);
    spawnCache.set(map, s);
  }
  return s;
}

/** The RFS scenario (rated references) of an env's current episode — GRPO's reward context. */
export function rfsScenarioOf(env: { state: unknown }): RfsScenario {
  return (env.state as DrivingState).rfs;
}

export { NUM_INTENTS, segIndex };
