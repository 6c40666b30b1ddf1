/**
 * driving — the scenario builder: picks a scenario kind (or the configured one), honours the forced intent
 * feasibilities, draws the road map, route and ego start, places cones, parked cars and traffic, sets the initial
 * plan and rates the candidate maneuvers (RFS references). Pure function of (config, RNG) → `DrivingState`.
 */
import { Rng } from '../../sim/math/rng.ts';
import { quatFromYaw } from '../../sim/math/vec.ts';
import { addBody, addCollider, type World } from '../../sim/physics/index.ts';
import { buildRoadMap, pointAt, project, type MapParams, type Projection, type Turn } from './geometry.ts';
import { buildRfsScenario, predictTraffic, rateCandidates, type StaticObstacle } from './planner.ts';
import { RFS_DT_SEC, RFS_T } from './rfs.ts';
import {
  CAR_HALF_H, G_EGO, G_GROUND, G_STATIC, G_TRAFFIC, groups, isOnRoad, SCENARIO_KINDS, trafficParams,
  type DrivingConfig, type DrivingState, type Feasibility, type ScenarioKind,
} from './state.ts';
import { chooseNext, vehPose, type Veh } from './traffic.ts';
import { leaderOnPath } from './world.ts';

const scratchProj: Projection = { s: 0, d: 0, dist: 0, h: 0 };

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

/**
 * Draw the episode's scenario from the scene RNG and build it into `world`: road map, route, ego, static obstacles,
 * traffic, the initial plan and the raters' references. The order of RNG draws is part of the determinism contract.
 */
export function buildState(world: World, cfg: DrivingConfig, rng: Rng): DrivingState {
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
