/**
 * driving — the scene's configuration and state: `DrivingConfig` + `defaultConfig()`, the plain-data
 * `DrivingState` (with its `$`-prefixed runtime caches), collision groups, and the small lookups every part of
 * the scene shares (`mapOf`, `isOnRoad`, `trafficParams`). Knows nothing of the scene definition, the scenario
 * builder, the ego controller or the scripted driver, so each of those can import it without a circle.
 */
import { type SceneConfigBase } from '../../sim/core/index.ts';
import { Rng } from '../../sim/math/rng.ts';
import type { VehicleController } from '../../sim/physics/vehicle.ts';
import { buildRoadMap, onRoad, type MapParams, type Projection, type RoadMap, type Turn } from './geometry.ts';
import type { StaticObstacle } from './planner.ts';
import type { RfsScenario } from './rfs.ts';
import type { TrafficParams, Veh } from './traffic.ts';
import type { LaneHit } from './world.ts';

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

/** Collision-group bits: ground, ego, traffic, static obstacles. */
export const G_GROUND = 0x0001, G_EGO = 0x0002, G_TRAFFIC = 0x0004, G_STATIC = 0x0008;
/** Rapier interaction groups: membership in the high 16 bits, filter in the low 16. */
export const groups = (member: number, filter: number) => ((member << 16) | filter) >>> 0;
/** Half height of a traffic / parked car box, m. */
export const CAR_HALF_H = 0.75;

const tpCache = new WeakMap<DrivingConfig, TrafficParams>();
/** IDM/MOBIL parameters of the traffic, from the config (cached per config object). */
export function trafficParams(cfg: DrivingConfig): TrafficParams {
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

/** The episode's road map, regenerated from `mapSeed` on first use after a restore (runtime cache `$map`). */
export function mapOf(h: DrivingState): RoadMap {
  if (!h.$map) h.$map = buildRoadMap(h.mapParams, new Rng(h.mapSeed));
  return h.$map;
}

const scratchProj: Projection = { s: 0, d: 0, dist: 0, h: 0 };

/** True when (x, y) (road coordinates, m) is on the paved road, with a 0.3 m margin. */
export function isOnRoad(map: RoadMap, x: number, y: number): boolean {
  return onRoad(map, x, y, 0.3, scratchProj);
}
