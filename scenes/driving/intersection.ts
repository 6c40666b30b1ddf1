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
 */
import { ACTION, OBS_STATE, defineScene, type FeatureSpec, type Observation, type Overlay, type SceneConfigBase } from '../../sim/core/index.ts';
import { Rng } from '../../sim/math/rng.ts';
import { quatFromYaw } from '../../sim/math/vec.ts';
import { addBody, addCollider, type World } from '../../sim/physics/index.ts';
import { createRaycastVehicle, setVehicleInputs, updateVehicle, type VehicleController, type WheelSpec } from '../../sim/physics/vehicle.ts';
import { buildRoadMap, onRoad, pointAt, project, segIndex, wrap, type MapParams, type Projection, type RoadMap, type Turn } from './geometry.ts';
import { INTENTS, labelIntent, NUM_INTENTS } from './intents.ts';
import {
  buildRfsScenario, cachedPath, lanesWithTurn, predictTraffic, rateCandidates, type Line, type StaticObstacle,
} from './planner.ts';
import { DEFAULT_RFS_PARAMS, prepareRfs, rfs, RFS_DT_SEC, RFS_T, trustRegionHit, type RfsScenario } from './rfs.ts';
import { boxesOverlap, chooseNext, stepTraffic, vehPose, type TrafficParams, type Veh } from './traffic.ts';
import { egoPose, egoPoseFast, leaderOnPath, nearestLane, type EgoPose, type LaneHit } from './world.ts';
import { scriptedDriver } from './driver.ts';

export const OBS_OCCUPANCY = 'observation.occupancy';

export type Feasibility = 'auto' | 'yes' | 'no';
export const SCENARIO_KINDS = ['cruise', 'accelerate', 'slowLead', 'blockedLane', 'laneForTurn', 'turnLeft', 'turnRight', 'uTurn'] as const;
export type ScenarioKind = (typeof SCENARIO_KINDS)[number];

export interface DrivingConfig extends SceneConfigBase {
  /** 'trajectory': 20 ego-frame waypoints (5 s at 4 Hz) tracked by pure pursuit + speed PID; 'lowlevel': [accel, steer]. */
  actionMode: 'trajectory' | 'lowlevel';
  road: {
    /** Lane width, m. */ laneWidthM: number;
    /** Lanes per direction on the main road (arms 0, 2): drawn uniformly in [min, max]. */ mainLanesMin: number; mainLanesMax: number;
    /** Lanes per direction on the cross road (arms 1, 3). */ crossLanesMin: number; crossLanesMax: number;
    /** Arm length range, m. */ armLengthMinM: number; armLengthMaxM: number;
    /** Max |angle| of the arc in each arm's reference line, deg. */ curveMaxDeg: number;
    /** Arc radius range, m. */ curveRadiusMinM: number; curveRadiusMaxM: number;
    /** Median width when a U-turn is possible / not possible, m. */ wideMedianM: number; narrowMedianM: number;
    /** A U-turn connector exists when the median is at least this wide, m. */ uTurnMinMedianM: number;
  };
  traffic: {
    /** Number of traffic vehicles (scenario vehicles included). */ numVehicles: number;
    /** Desired speed range of traffic, m/s. */ desiredSpeedMinMps: number; desiredSpeedMaxMps: number;
    /** IDM: max accel, comfortable decel, time headway, jam gap, hard-brake limit. */
    aMaxMps2: number; bCompMps2: number; headwaySec: number; minGapM: number; bMaxMps2: number;
    /** MOBIL: politeness, threshold, safe decel, keep-right bias, lane-change duration and cooldown. */
    politeness: number; thresholdMps2: number; bSafeMps2: number; keepRightMps2: number; laneChangeSec: number; laneChangeCooldownSec: number;
    /** Leader search distance and corridor half-width, m. */ lookaheadM: number; corridorHalfM: number;
    /** Cross traffic's required time gap to main-road agents, s. */ gapSec: number;
  };
  scenario: {
    /** Scenario kind; 'random' draws one by `kindWeights`. */
    kind: 'random' | ScenarioKind;
    /** Relative weights of the kinds when kind = 'random'. */
    kindWeights: Record<ScenarioKind, number>;
    /**
     * Force an intent feasible ('yes') or infeasible ('no'); 'auto' leaves it to the scenario draw. Mechanisms:
     * uTurn → wide/narrow median (U-turn connector or none); turnLeft/turnRight → the left/right arm open/closed by
     * cones; laneChangeLeft/Right → ego not in / in the leftmost/rightmost lane; cruise 'no' → a parked car in the
     * ego lane ahead; accelerate 'no' → a lead car close ahead at the ego's speed; decelerate 'no' → a tailgater.
     */
    feasible: { cruise: Feasibility; laneChangeLeft: Feasibility; laneChangeRight: Feasibility; turnLeft: Feasibility; turnRight: Feasibility; uTurn: Feasibility; accelerate: Feasibility; decelerate: Feasibility };
    /** Route completion: distance along the exit arm, m. */
    goalAlongM: number;
  };
  ego: {
    massKg: number;
    /** Chassis half extents (length, height, width), m. */ halfLengthM: number; halfHeightM: number; halfWidthM: number;
    /** Distance between axles, m. */ wheelBaseM: number;
    /** Half track (lateral wheel offset), m. */ halfTrackM: number;
    wheelRadiusM: number;
    maxSteerRad: number;
    maxSteerRateRadPerSec: number;
    /** Total engine force at full throttle and total braking force at full brake, N. */ maxEngineN: number; maxBrakeN: number;
    /** Speed limit (rater) and cruise speed (scripted driver, rater), m/s. */ speedLimitMps: number; cruiseSpeedMps: number;
  };
  tracker: {
    /** Pure-pursuit lookahead = clamp(base + gain·v, min, max), m. */
    lookaheadBaseM: number; lookaheadGainSec: number; lookaheadMinM: number; lookaheadMaxM: number;
    /** Speed loop gains (1/s, 1/s², along-track position gain 1/s) and reference preview, s. */
    speedGain: number; speedI: number; posGain: number; previewSec: number;
  };
  obs: {
    /** Number of nearest agents in the observation. */ kNearest: number;
    /** Agents farther than this are not observed, m. */ agentRangeM: number;
    /** Top-down occupancy raster (observation.occupancy), off by default. */ occupancy: boolean;
    /** Raster size (cells per side) and cell size, m. */ occupancyCells: number; occupancyCellM: number;
  };
  rfs: { floor: number; decay: number };
}

export function defaultConfig(): DrivingConfig {
  return {
    ctrlDtSec: 0.25,
    simDtSec: 0.025,
    maxSteps: 160,
    terminateOnSuccess: true,
    reward: { scales: { progress: 0.1, collision: 10, offRoad: 10, laneCenter: 0.05, comfort: 0.01, success: 5 } },
    actionMode: 'trajectory',
    road: {
      laneWidthM: 3.5, mainLanesMin: 2, mainLanesMax: 3, crossLanesMin: 1, crossLanesMax: 2,
      armLengthMinM: 130, armLengthMaxM: 170, curveMaxDeg: 35, curveRadiusMinM: 60, curveRadiusMaxM: 120,
      wideMedianM: 4, narrowMedianM: 0.5, uTurnMinMedianM: 3.5,
    },
    traffic: {
      numVehicles: 10, desiredSpeedMinMps: 8, desiredSpeedMaxMps: 12,
      aMaxMps2: 1.5, bCompMps2: 2, headwaySec: 1.2, minGapM: 2.5, bMaxMps2: 9,
      politeness: 0.3, thresholdMps2: 0.3, bSafeMps2: 3, keepRightMps2: 0.1, laneChangeSec: 3, laneChangeCooldownSec: 6,
      lookaheadM: 50, corridorHalfM: 2.0, gapSec: 7,
    },
    scenario: {
      kind: 'random',
      kindWeights: { cruise: 1, accelerate: 1, slowLead: 1.2, blockedLane: 1, laneForTurn: 1, turnLeft: 1, turnRight: 1, uTurn: 1 },
      feasible: { cruise: 'auto', laneChangeLeft: 'auto', laneChangeRight: 'auto', turnLeft: 'auto', turnRight: 'auto', uTurn: 'auto', accelerate: 'auto', decelerate: 'auto' },
      goalAlongM: 30,
    },
    ego: {
      massKg: 1500, halfLengthM: 2.25, halfHeightM: 0.45, halfWidthM: 0.9, wheelBaseM: 2.6, halfTrackM: 0.8, wheelRadiusM: 0.35,
      maxSteerRad: 0.6, maxSteerRateRadPerSec: 1.2, maxEngineN: 6000, maxBrakeN: 12000, speedLimitMps: 13.9, cruiseSpeedMps: 10,
    },
    tracker: { lookaheadBaseM: 2.5, lookaheadGainSec: 0.6, lookaheadMinM: 3.5, lookaheadMaxM: 12, speedGain: 1.5, speedI: 0.3, posGain: 1.2, previewSec: 0.5 },
    obs: { kNearest: 8, agentRangeM: 60, occupancy: false, occupancyCells: 32, occupancyCellM: 1.5 },
    rfs: { floor: 4, decay: 0.5 },
  };
}

// --- state ---------------------------------------------------------------------------------------------------------

export interface EgoCtrl {
  steerRad: number; engineN: number; brake: number;
  /** Seconds since the current plan was issued. */ planAgeSec: number;
  /** Segment hint of the ego's projection on the plan polyline. */ planSeg: number;
  pidI: number;
}

export interface DrivingState {
  mapSeed: number;
  mapParams: MapParams;
  kind: ScenarioKind;
  ground: number;
  chassis: number;
  chassisCollider: number;
  ctrl: EgoCtrl;
  /** Current plan in road coordinates: origin + RFS_T waypoints (x, y). */
  plan: Float64Array;
  /** Low-level command [accel, steer] in [−1, 1] (lowlevel mode). */
  lowLevel: [number, number];
  tSec: number;
  prevSpeed: number;
  accel: number;
  route: { turn: Turn; laneIndex: number; goalArm: number; startLane: number };
  traffic: Veh[];
  trafficColliders: number[];
  trafficRng: number[];
  statics: StaticObstacle[];
  /** Ego road pose at t0 and its positions every 0.25 s up to 5 s (for the closed-loop RFS and intent label). */
  egoT0: [number, number, number, number];
  egoHist: Float64Array;
  egoHistN: number;
  rfs: RfsScenario;
  feasible: boolean[];
  ratingByIntent: number[];
  collided: boolean;
  offRoad: boolean;
  success: boolean;
  progressM: number;
  laneOffsetM: number;
  /** Nearest lane of the ego after the last step (lane −1: none). */
  laneHit: LaneHit;
  $map?: RoadMap;
  /** Last inputs written to the vehicle controller (skip unchanged WASM calls). */
  $lastInputs?: [number, number, number];
  $planLen?: Float64Array;
  $planCum?: Float64Array;
  $vc?: VehicleController;
}

const G_GROUND = 0x0001, G_EGO = 0x0002, G_TRAFFIC = 0x0004, G_STATIC = 0x0008;
const groups = (member: number, filter: number) => ((member << 16) | filter) >>> 0;
const WHEEL_QUERY_GROUPS = groups(G_EGO, G_GROUND);
const CAR_HALF_H = 0.75;

export const STATE_NAMES: readonly string[] = (() => {
  const n = ['speed', 'yawRate', 'accel', 'steer', 'laneOffset', 'headingErr', 'laneIndex', 'lanesInDir', 'hasLeftLane', 'hasRightLane', 'inBox',
    'route.straight', 'route.left', 'route.right', 'route.uturn', 'distToStopLine', 'requiredLaneDelta', 'distToGoal'];
  for (let k = 0; k < 8; k++) for (const f of ['x', 'y', 'cosdh', 'sindh', 'vx', 'vy', 'static', 'present']) n.push(`agent${k}.${f}`);
  for (let k = 1; k <= 8; k++) n.push(`lane${k * 5}m.x`, `lane${k * 5}m.y`);
  return n;
})();
const EGO_FEATS = 18;

function wheelSpec(cfg: DrivingConfig): WheelSpec {
  const e = cfg.ego, a = e.wheelBaseM / 2, t = e.halfTrackM;
  return {
    positionsM: [[a, -0.2, -t], [a, -0.2, t], [-a, -0.2, -t], [-a, -0.2, t]],
    steered: [0, 1], driven: [2, 3], radiusM: e.wheelRadiusM, suspensionRestM: 0.3,
    suspensionStiffness: 30, suspensionCompression: 4, suspensionRelaxation: 5, maxSuspensionForceN: 1e5,
    maxSuspensionTravelM: 0.3, frictionSlip: 2.5, sideFrictionStiffness: 1,
  };
}

const tpCache = new WeakMap<DrivingConfig, TrafficParams>();
function trafficParams(cfg: DrivingConfig): TrafficParams {
  let p = tpCache.get(cfg);
  if (!p) { p = trafficParamsUncached(cfg); tpCache.set(cfg, p); }
  return p;
}
function trafficParamsUncached(cfg: DrivingConfig): TrafficParams {
  const t = cfg.traffic;
  return {
    idm: { aMaxMps2: t.aMaxMps2, bCompMps2: t.bCompMps2, headwaySec: t.headwaySec, minGapM: t.minGapM, bMaxMps2: t.bMaxMps2 },
    mobil: { politeness: t.politeness, thresholdMps2: t.thresholdMps2, bSafeMps2: t.bSafeMps2, keepRightMps2: t.keepRightMps2, durationSec: t.laneChangeSec, cooldownSec: t.laneChangeCooldownSec },
    lookaheadM: t.lookaheadM, corridorHalfM: t.corridorHalfM, gapSec: t.gapSec,
    vehicleHalfLM: 2.25, vehicleHalfWM: 0.9, spawnClearM: 25,
  };
}

export function mapOf(h: DrivingState): RoadMap {
  if (!h.$map) h.$map = buildRoadMap(h.mapParams, new Rng(h.mapSeed));
  return h.$map;
}

function vcOf(world: World, h: DrivingState, cfg: DrivingConfig): VehicleController {
  if (!h.$vc) {
    const spec = wheelSpec(cfg);
    h.$vc = createRaycastVehicle(world, world.getRigidBody(h.chassis), spec);
    setVehicleInputs(h.$vc, spec, { steerRad: h.ctrl.steerRad, engineN: h.ctrl.engineN, brake: h.ctrl.brake });
  }
  return h.$vc;
}

const scratchProj: Projection = { s: 0, d: 0, dist: 0, h: 0 };

export function isOnRoad(map: RoadMap, x: number, y: number): boolean {
  return onRoad(map, x, y, 0.3, scratchProj);
}

// --- build ---------------------------------------------------------------------------------------------------------

function pickKind(cfg: DrivingConfig, rng: Rng): ScenarioKind {
  if (cfg.scenario.kind !== 'random') {
    if (!(SCENARIO_KINDS as readonly string[]).includes(cfg.scenario.kind)) throw new Error(`driving: unknown scenario.kind '${cfg.scenario.kind}' (known: random, ${SCENARIO_KINDS.join(', ')})`);
    return cfg.scenario.kind;
  }
  let total = 0;
  for (const k of SCENARIO_KINDS) total += Math.max(0, cfg.scenario.kindWeights[k] ?? 0);
  if (!(total > 0)) throw new Error('driving: scenario.kindWeights must have a positive entry');
  let u = rng.uniform(0, total);
  for (const k of SCENARIO_KINDS) { u -= Math.max(0, cfg.scenario.kindWeights[k] ?? 0); if (u <= 0) return k; }
  return SCENARIO_KINDS[SCENARIO_KINDS.length - 1]!;
}

function checkFeas(v: string, name: string): Feasibility {
  if (v !== 'auto' && v !== 'yes' && v !== 'no') throw new Error(`driving: scenario.feasible.${name} must be auto, yes or no, got '${v}'`);
  return v;
}

function buildState(world: World, cfg: DrivingConfig, rng: Rng): DrivingState {
  const F = cfg.scenario.feasible;
  const feas = Object.fromEntries(Object.entries(F).map(([k, v]) => [k, checkFeas(v, k)])) as DrivingConfig['scenario']['feasible'];
  let kind = pickKind(cfg, rng);
  const R = cfg.road;
  // Intent constraints override kinds that would contradict them.
  if (feas.uTurn === 'no' && kind === 'uTurn') kind = 'turnLeft';
  if (feas.turnLeft === 'no' && kind === 'turnLeft') kind = 'turnRight';
  if (feas.turnRight === 'no' && kind === 'turnRight') kind = 'cruise';
  if (feas.cruise === 'yes' && (kind === 'blockedLane' || kind === 'slowLead')) kind = 'cruise';

  // --- road ---
  const nLcNo = (feas.laneChangeLeft === 'no' ? 1 : 0) + (feas.laneChangeRight === 'no' ? 1 : 0);
  let mainLanes = R.mainLanesMin + rng.int(R.mainLanesMax - R.mainLanesMin + 1);
  if (nLcNo === 2) mainLanes = 1;
  else if (mainLanes < 2 && (feas.laneChangeLeft === 'yes' || feas.laneChangeRight === 'yes' || kind === 'blockedLane' || kind === 'laneForTurn')) mainLanes = 2;
  const crossLanes = R.crossLanesMin + rng.int(R.crossLanesMax - R.crossLanesMin + 1);
  const uTurnOk = feas.uTurn === 'yes' || (feas.uTurn === 'auto' && (kind === 'uTurn' || rng.next() < 0.4));
  const medianM = uTurnOk ? R.wideMedianM : R.narrowMedianM;
  const closeLeft = feas.turnLeft === 'no' || (feas.turnLeft === 'auto' && kind !== 'turnLeft' && kind !== 'laneForTurn' && rng.next() < 0.15);
  const closeRight = feas.turnRight === 'no' || (feas.turnRight === 'auto' && kind !== 'turnRight' && kind !== 'laneForTurn' && rng.next() < 0.15);
  const mapParams: MapParams = {
    laneWidthM: R.laneWidthM, mainLanes, crossLanes, medianM, uTurnMinMedianM: R.uTurnMinMedianM,
    armLengthM: [R.armLengthMinM, R.armLengthMaxM], curveAngleRad: [0, (R.curveMaxDeg * Math.PI) / 180],
    curveRadiusM: [R.curveRadiusMinM, R.curveRadiusMaxM], straightBeforeCurveM: [50, 90],
    closedArms: [false, closeLeft, false, closeRight],
  };
  const mapSeed = rng.nextU32();
  const map = buildRoadMap(mapParams, new Rng(mapSeed));
  const arm0 = map.arms[0]!;
  const n = arm0.lanesPerDir;

  // --- route and ego lane ---
  let turn: Turn = 'straight';
  if (kind === 'turnLeft') turn = 'left';
  else if (kind === 'turnRight') turn = 'right';
  else if (kind === 'uTurn') turn = 'uturn';
  else if (kind === 'laneForTurn') turn = closeLeft ? 'right' : closeRight ? 'left' : rng.next() < 0.5 ? 'left' : 'right';
  if (turn === 'uturn' && !uTurnOk) turn = 'left';
  if (turn === 'left' && closeLeft) turn = closeRight ? 'straight' : 'right';
  if (turn === 'right' && closeRight) turn = closeLeft ? 'straight' : 'left';
  const routeLaneIndex = turn === 'left' || turn === 'uturn' ? 0 : turn === 'right' ? n - 1 : -1;
  let egoIdx: number;
  if (routeLaneIndex >= 0 && kind !== 'laneForTurn') egoIdx = routeLaneIndex;
  else if (kind === 'laneForTurn' && n > 1) egoIdx = routeLaneIndex === 0 ? 1 + rng.int(n - 1) : rng.int(n - 1);
  else egoIdx = rng.int(n);
  if (feas.laneChangeLeft === 'no') egoIdx = 0;
  else if (feas.laneChangeRight === 'no') egoIdx = n - 1;
  else if (feas.laneChangeLeft === 'yes' && egoIdx === 0 && n > 1) egoIdx = 1;
  else if (feas.laneChangeRight === 'yes' && egoIdx === n - 1 && n > 1) egoIdx = n - 2;
  const goalArm = turn === 'straight' ? 2 : turn === 'left' ? 1 : turn === 'right' ? 3 : 0;

  let distToBox: number;
  let v0: number;
  const ec = cfg.ego;
  switch (kind) {
    case 'turnLeft': case 'turnRight': distToBox = rng.uniform(8, 22); v0 = rng.uniform(5, 8); break;
    case 'uTurn': distToBox = rng.uniform(3, 8); v0 = rng.uniform(3, 4.5); break;
    case 'slowLead': distToBox = rng.uniform(45, 85); v0 = rng.uniform(8, 11); break;
    case 'laneForTurn': distToBox = rng.uniform(50, 75); v0 = rng.uniform(7, 10); break;
    case 'accelerate': distToBox = rng.uniform(60, 115); v0 = rng.uniform(1.5, 4.5); break;
    default: distToBox = rng.uniform(60, 115); v0 = rng.uniform(8, 11); break;
  }
  if (feas.accelerate === 'yes' && v0 > ec.speedLimitMps - 4) v0 = ec.speedLimitMps - 5;
  if (feas.cruise === 'no') distToBox = Math.max(distToBox, 55);
  const egoLane = map.lanes[arm0.inLanes[egoIdx]!]!;
  const egoS = Math.max(5, egoLane.lengthM - distToBox);
  const p0 = { x: 0, y: 0, h: 0 };
  pointAt(egoLane, egoS, p0);

  // --- ground ---
  const gb = addBody(world, { type: 'fixed', p: { x: 0, y: -0.05, z: 0 } });
  const ground = addCollider(world, gb, { kind: 'box', halfExtentsM: [260, 0.05, 260] }, { friction: 1, groups: groups(G_GROUND, 0xffff) });

  // --- ego ---
  const chassis = addBody(world, { p: { x: p0.x, y: 0.9, z: -p0.y }, q: quatFromYaw(p0.h), angularDamping: 0.5 });
  const cc = addCollider(world, chassis, { kind: 'box', halfExtentsM: [ec.halfLengthM, ec.halfHeightM, ec.halfWidthM] }, { massKg: ec.massKg, friction: 0.5, groups: groups(G_EGO, 0xffff) });
  chassis.setLinvel({ x: v0 * Math.cos(p0.h), y: 0, z: -v0 * Math.sin(p0.h) }, true);

  // --- static obstacles ---
  const statics: StaticObstacle[] = [];
  const addStatic = (x: number, y: number, h: number, kindS: 'cone' | 'car') => {
    const b = addBody(world, { type: 'fixed', p: { x, y: kindS === 'cone' ? 0.4 : CAR_HALF_H, z: -y }, q: quatFromYaw(h) });
    const c = kindS === 'cone'
      ? addCollider(world, b, { kind: 'cylinder', radiusM: 0.25, halfHeightM: 0.4 }, { groups: groups(G_STATIC, G_EGO) })
      : addCollider(world, b, { kind: 'box', halfExtentsM: [2.25, CAR_HALF_H, 0.9] }, { groups: groups(G_STATIC, G_EGO) });
    statics.push({ x, y, h, halfL: kindS === 'cone' ? 0.25 : 2.25, halfW: kindS === 'cone' ? 0.25 : 0.9, collider: c.handle, kind: kindS });
  };
  for (const a of [1, 3]) {
    if (!map.arms[a]!.closed) continue;
    const arm = map.arms[a]!;
    // A row of cones across the whole arm, 2 m out from the box edge.
    const q = { x: 0, y: 0, h: 0 };
    pointAt(arm, 2, q);
    const nc = Math.ceil((2 * arm.halfWidthM) / 1.5);
    for (let i = 0; i <= nc; i++) {
      const off = -arm.halfWidthM + (2 * arm.halfWidthM * i) / nc;
      addStatic(q.x - Math.sin(q.h) * off, q.y + Math.cos(q.h) * off, q.h, 'cone');
    }
  }
  const blocked = kind === 'blockedLane' || feas.cruise === 'no';
  let blockS = -1;
  if (blocked && egoS + 16 < egoLane.lengthM - 8) {
    // With cruise forced infeasible, the car sits where holding the current speed reaches it within 5 s.
    const ahead = feas.cruise === 'no' ? 4.5 + Math.max(3, 3.5 * v0) : rng.uniform(26, 40);
    blockS = Math.min(egoLane.lengthM - 10, egoS + ahead);
    const q = { x: 0, y: 0, h: 0 };
    pointAt(egoLane, blockS, q);
    addStatic(q.x, q.y, q.h, 'car');
    pointAt(egoLane, blockS - 4, q);
    addStatic(q.x, q.y, q.h, 'cone');
  }
  // Two parked cars on the shoulder of the exit arm (outside the paved road).
  {
    const arm = map.arms[2]!;
    for (const s of [25, 45]) {
      const q = { x: 0, y: 0, h: 0 };
      pointAt(arm, s + rng.uniform(0, 10), q);
      const off = -(arm.halfWidthM + 1.4);
      addStatic(q.x - Math.sin(q.h) * off, q.y + Math.cos(q.h) * off, q.h, 'car');
    }
  }

  // --- traffic ---
  const tp = trafficParams(cfg);
  const vehs: Veh[] = [];
  const trafficColliders: number[] = [];
  const placed: { lane: number; s: number; x: number; y: number }[] = [];
  const addVeh = (laneId: number, s: number, v: number, vDes: number) => {
    const lane = map.lanes[laneId]!;
    const veh: Veh = { body: -1, lane: laneId, nextLane: chooseNext(map, lane), s, v, v0: vDes, lat: 0, lat0: 0, lcT: 0, cooldown: 3, go: false, x: 0, y: 0, h: 0, a: 0 };
    vehPose(map, veh);
    const b = addBody(world, { type: 'kinematic', p: { x: veh.x, y: CAR_HALF_H, z: -veh.y }, q: quatFromYaw(veh.h) });
    const c = addCollider(world, b, { kind: 'box', halfExtentsM: [2.25, CAR_HALF_H, 0.9] }, { groups: groups(G_TRAFFIC, G_EGO) });
    veh.body = b.handle;
    vehs.push(veh);
    trafficColliders.push(c.handle);
    placed.push({ lane: laneId, s, x: veh.x, y: veh.y });
  };
  const vDes = () => rng.uniform(cfg.traffic.desiredSpeedMinMps, cfg.traffic.desiredSpeedMaxMps);
  if (kind === 'slowLead' && vehs.length < cfg.traffic.numVehicles) {
    const vl = rng.uniform(4, 6);
    addVeh(egoLane.id, Math.min(egoLane.lengthM - 15, egoS + rng.uniform(22, 32)), vl, vl);
  }
  if (feas.accelerate === 'no' && vehs.length < cfg.traffic.numVehicles) {
    addVeh(egoLane.id, Math.min(egoLane.lengthM - 5, egoS + 10.5), v0, v0);
  }
  if (feas.decelerate === 'no' && vehs.length < cfg.traffic.numVehicles && egoS > 15) {
    addVeh(egoLane.id, egoS - 9, v0 + 0.5, Math.max(v0 + 2, 11));
  }
  const spawnLanes: number[] = [];
  for (let a = 0; a < 4; a++) if (!map.arms[a]!.closed) spawnLanes.push(...map.arms[a]!.inLanes);
  const candLanes: number[] = [];
  for (let a = 0; a < 4; a++) {
    if (map.arms[a]!.closed) continue;
    candLanes.push(...map.arms[a]!.inLanes, ...map.arms[a]!.outLanes);
  }
  let guard = 0;
  while (vehs.length < cfg.traffic.numVehicles && guard++ < 400) {
    const laneId = candLanes[rng.int(candLanes.length)]!;
    const lane = map.lanes[laneId]!;
    const s = rng.uniform(5, lane.lengthM - 10);
    const q = { x: 0, y: 0, h: 0 };
    pointAt(lane, s, q);
    // Keep clear of the ego: 40 m ahead / 15 m behind in its lane, 12 m in other lanes; no cars in the box.
    const dx = q.x - p0.x, dy = q.y - p0.y;
    const lon = dx * Math.cos(p0.h) + dy * Math.sin(p0.h);
    const dEgo = Math.hypot(dx, dy);
    if (dEgo < 14) continue;
    if (laneId === egoLane.id && lon > -15 && lon < (blockS > 0 ? blockS - egoS + 10 : 45)) continue;
    if (blockS > 0 && Math.abs(q.x - p0.x) < 60 && laneId === egoLane.id) continue;
    let ok = true;
    for (const p of placed) if (Math.hypot(p.x - q.x, p.y - q.y) < 18) { ok = false; break; }
    for (const o of statics) if (Math.hypot(o.x - q.x, o.y - q.y) < 10) { ok = false; break; }
    if (!ok) continue;
    const vd = vDes();
    // Vehicles on the cross road start behind the stop line.
    if (lane.kind === 'in' && lane.arm % 2 === 1 && lane.lengthM - s < 12) continue;
    // Turn scenarios start in a gap of oncoming traffic (the turn is possible right away).
    if ((kind === 'turnLeft' || kind === 'uTurn') && lane.kind === 'in' && lane.arm === 2 && lane.lengthM - s < 70) continue;
    addVeh(laneId, s, Math.min(vd, 9), vd);
  }

  const h: DrivingState = {
    mapSeed, mapParams, kind, ground: ground.handle, chassis: chassis.handle, chassisCollider: cc.handle,
    ctrl: { steerRad: 0, engineN: 0, brake: 0, planAgeSec: 0, planSeg: 0, pidI: 0 },
    plan: new Float64Array(2 + RFS_T * 2), lowLevel: [0, 0],
    tSec: 0, prevSpeed: v0, accel: 0,
    route: { turn, laneIndex: routeLaneIndex, goalArm, startLane: egoLane.id },
    traffic: vehs, trafficColliders, trafficRng: rng.fork().getState(), statics,
    egoT0: [p0.x, p0.y, p0.h, v0], egoHist: new Float64Array(2 * (RFS_T + 1)), egoHistN: 1,
    rfs: { v0, refs: [], ratings: [], refIntents: [] }, feasible: [], ratingByIntent: [],
    collided: false, offRoad: false, success: false, progressM: 0, laneOffsetM: 0,
    laneHit: { lane: egoLane.id, s: egoS, d: 0, dh: 0 },
    $map: map,
  };
  h.egoHist[0] = p0.x; h.egoHist[1] = p0.y;
  // Initial plan: hold the lane at the current speed.
  for (let k = 0; k <= RFS_T; k++) {
    const q = { x: 0, y: 0, h: 0 };
    pointAt(egoLane, egoS + v0 * RFS_DT_SEC * k, q);
    h.plan[2 * k] = q.x; h.plan[2 * k + 1] = q.y;
  }

  // --- raters: references and feasibility ---
  const ego = { x: p0.x, y: p0.y, h: p0.h, v: v0 };
  const pred = predictTraffic(map, vehs, statics, 2.25, 0.9);
  const cands = rateCandidates({
    map, ego, egoHalfL: ec.halfLengthM, egoHalfW: ec.halfWidthM, egoLane: egoLane.id, routeTurn: turn, routeLaneIndex,
    vCruiseMps: ec.cruiseSpeedMps, speedLimitMps: ec.speedLimitMps, idm: tp.idm, pred,
    onRoad: (x, y) => isOnRoad(map, x, y),
    leaderOn: (path) => {
      project(path, ego.x, ego.y, scratchProj);
      return leaderOnPath(path, scratchProj.s, 60, tp.corridorHalfM, vehs, statics, 2.25, ec.halfLengthM);
    },
  });
  const built = buildRfsScenario(v0, cands);
  h.rfs = built.scenario;
  h.feasible = built.feasible;
  h.ratingByIntent = built.ratingByIntent;
  void spawnLanes;
  return h;
}

// --- control ---------------------------------------------------------------------------------------------------------

/** Store a trajectory action (ego frame) as a world-frame plan. */
function setPlan(h: DrivingState, ego: EgoPose, action: Float32Array): void {
  const c = Math.cos(ego.h), s = Math.sin(ego.h);
  h.plan[0] = ego.x; h.plan[1] = ego.y;
  for (let k = 0; k < RFS_T; k++) {
    const lx = action[2 * k]!, ly = action[2 * k + 1]!;
    h.plan[2 + 2 * k] = ego.x + lx * c - ly * s;
    h.plan[3 + 2 * k] = ego.y + lx * s + ly * c;
  }
  h.ctrl.planAgeSec = 0;
  h.ctrl.planSeg = 0;
  h.$planLen = undefined;
  h.$planCum = undefined;
}

/** Segment lengths and cumulative arc length of the plan (runtime cache, derived from h.plan). */
function planTables(h: DrivingState): { len: Float64Array; cum: Float64Array } {
  if (!h.$planLen || !h.$planCum) {
    const P = h.plan, T = RFS_T;
    const len = new Float64Array(T), cum = new Float64Array(T + 1);
    for (let i = 0; i < T; i++) {
      const dx = P[2 * i + 2]! - P[2 * i]!, dy = P[2 * i + 3]! - P[2 * i + 1]!;
      len[i] = Math.sqrt(dx * dx + dy * dy);
      cum[i + 1] = cum[i]! + len[i]!;
    }
    h.$planLen = len; h.$planCum = cum;
  }
  return { len: h.$planLen, cum: h.$planCum };
}

/** Plan speed at plan time t: segment i's speed sits at the middle of [i, i+1]·dt, linear in between. */
function planSpeedAt(len: Float64Array, t: number): number {
  const T = RFS_T;
  const u = t / RFS_DT_SEC - 0.5;
  const i = Math.floor(u);
  if (i >= T - 1) return len[T - 1]! / RFS_DT_SEC;
  if (i < 0) return len[0]! / RFS_DT_SEC;
  const f = u - i;
  return (len[i]! * (1 - f) + len[i + 1]! * f) / RFS_DT_SEC;
}

/** Pure pursuit + speed PID on the current plan; writes ctrl.steerRad/engineN/brake. */
function trackPlan(h: DrivingState, cfg: DrivingConfig, ego: EgoPose, dt: number): void {
  const P = h.plan, T = RFS_T, tr = cfg.tracker, e = cfg.ego, ctrl = h.ctrl;
  const { len, cum } = planTables(h);
  // Projection on the polyline (points 0..T), searching forward from the hint.
  let best = Infinity, bi = ctrl.planSeg, bt = 0;
  for (let i = Math.max(0, ctrl.planSeg - 1); i < T; i++) {
    const ax = P[2 * i]!, ay = P[2 * i + 1]!, sx = P[2 * i + 2]! - ax, sy = P[2 * i + 3]! - ay;
    const L2 = sx * sx + sy * sy;
    let t = L2 > 1e-9 ? ((ego.x - ax) * sx + (ego.y - ay) * sy) / L2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    const dx = ego.x - ax - sx * t, dy = ego.y - ay - sy * t;
    const d2 = dx * dx + dy * dy;
    if (d2 < best) { best = d2; bi = i; bt = t; }
    if (d2 > best + 400) break;
  }
  ctrl.planSeg = bi;
  const sEgo = cum[bi]! + len[bi]! * bt, total = cum[T]!;
  const v = ego.v;
  const Ld = Math.min(tr.lookaheadMaxM, Math.max(tr.lookaheadMinM, tr.lookaheadBaseM + tr.lookaheadGainSec * Math.abs(v)));
  // Target point at sEgo + Ld (extrapolated along the last non-degenerate segment).
  const want = sEgo + Ld;
  let tx = P[2 * T]!, ty = P[2 * T + 1]!;
  if (want <= total) {
    let i = bi;
    while (i < T - 1 && cum[i + 1]! < want) i++;
    const L = len[i]!;
    if (L > 1e-9) { const f = (want - cum[i]!) / L; tx = P[2 * i]! + (P[2 * i + 2]! - P[2 * i]!) * f; ty = P[2 * i + 1]! + (P[2 * i + 3]! - P[2 * i + 1]!) * f; }
  } else {
    for (let i = T - 1; i >= 0; i--) {
      const L = len[i]!;
      if (L > 0.05) { const ex = want - total; tx += ((P[2 * i + 2]! - P[2 * i]!) / L) * ex; ty += ((P[2 * i + 3]! - P[2 * i + 1]!) / L) * ex; break; }
    }
  }
  const dx = tx - ego.x, dy = ty - ego.y;
  const alpha = wrap(Math.atan2(dy, dx) - ego.h);
  const dist = Math.max(Math.sqrt(dx * dx + dy * dy), 1e-3);
  let steer = total < 0.3 ? ctrl.steerRad : Math.atan((2 * e.wheelBaseM * Math.sin(alpha)) / dist);
  steer = Math.max(-e.maxSteerRad, Math.min(e.maxSteerRad, steer));
  const maxD = e.maxSteerRateRadPerSec * dt;
  ctrl.steerRad += Math.max(-maxD, Math.min(maxD, steer - ctrl.steerRad));

  // Speed reference from waypoint spacing at t + preview; s_ref = plan arc length at the current plan age.
  const tRef = ctrl.planAgeSec + tr.previewSec;
  const vRef = planSpeedAt(len, tRef);
  const aRef = Math.max(-4, Math.min(3, (planSpeedAt(len, tRef + 0.1) - planSpeedAt(len, tRef - 0.1)) / 0.2));
  const age = ctrl.planAgeSec;
  const ki = Math.min(T, Math.floor(age / RFS_DT_SEC));
  const sRef = cum[ki]! + (ki < T ? len[ki]! * (age / RFS_DT_SEC - ki) : 0);
  const vCmd = Math.max(0, vRef + tr.posGain * Math.max(-5, Math.min(5, sRef - sEgo)));
  const err = vCmd - v;
  ctrl.pidI = Math.max(-2, Math.min(2, ctrl.pidI + err * dt));
  const F = e.massKg * (aRef + tr.speedGain * err + tr.speedI * ctrl.pidI);
  applyForce(h, cfg, F, vCmd, v);
  ctrl.planAgeSec += dt;
}

function applyForce(h: DrivingState, cfg: DrivingConfig, F: number, vCmd: number, v: number): void {
  const e = cfg.ego, ctrl = h.ctrl;
  const nDriven = 2;
  if (vCmd < 0.15 && v < 0.4) {
    ctrl.engineN = 0; ctrl.brake = 40;
  } else if (F >= 0) {
    ctrl.engineN = Math.min(F, e.maxEngineN) / nDriven; ctrl.brake = 0;
  } else if (v > 0.2) {
    ctrl.engineN = Math.max(F, -e.maxBrakeN) / nDriven; ctrl.brake = 0;
  } else {
    ctrl.engineN = 0; ctrl.brake = 10;
  }
}

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
    const vc = vcOf(world, h, cfg);
    const ego = egoPoseFast(world, h.chassis);
    if (cfg.actionMode === 'lowlevel') {
      const [a, st] = h.lowLevel;
      const e = cfg.ego;
      const target = st * e.maxSteerRad, maxD = e.maxSteerRateRadPerSec * cfg.simDtSec;
      h.ctrl.steerRad += Math.max(-maxD, Math.min(maxD, target - h.ctrl.steerRad));
      if (a >= 0) { h.ctrl.engineN = (a * e.maxEngineN) / 2; h.ctrl.brake = 0; }
      else if (ego.v > 0.2) { h.ctrl.engineN = (a * e.maxBrakeN) / 2; h.ctrl.brake = 0; }
      else { h.ctrl.engineN = 0; h.ctrl.brake = 20; }
    } else {
      trackPlan(h, cfg, ego, cfg.simDtSec);
    }
    // Write only the inputs that changed (each is 2–4 WASM calls).
    const last = h.$lastInputs ?? (h.$lastInputs = [NaN, NaN, NaN]);
    const spec = wheelSpecCached(cfg);
    if (last[0] !== h.ctrl.steerRad) { for (const i of spec.steered) vc.setWheelSteering(i, h.ctrl.steerRad); last[0] = h.ctrl.steerRad; }
    if (last[1] !== h.ctrl.engineN) { for (const i of spec.driven) vc.setWheelEngineForce(i, h.ctrl.engineN); last[1] = h.ctrl.engineN; }
    if (last[2] !== h.ctrl.brake) { for (let i = 0; i < spec.positionsM.length; i++) vc.setWheelBrake(i, h.ctrl.brake); last[2] = h.ctrl.brake; }
    updateVehicle(vc, cfg.simDtSec, WHEEL_QUERY_GROUPS);
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
    for (const l of map.lanes) {
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

const specCache = new WeakMap<DrivingConfig, WheelSpec>();
function wheelSpecCached(cfg: DrivingConfig): WheelSpec {
  let s = specCache.get(cfg);
  if (!s) { s = wheelSpec(cfg); specCache.set(cfg, s); }
  return s;
}

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
