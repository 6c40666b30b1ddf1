/**
 * driving — the ego's low-level control: the ray-cast vehicle controller (`vcOf`, recreated after a restore), the
 * trajectory action stored as a world-frame plan (`setPlan`), and, every physics substep, either the pure-pursuit +
 * speed-PID tracker of the plan or the direct [accel, steer] command, written to the vehicle's wheels
 * (`controlSubstep`). See intersection.ts's header for the control law.
 */
import { wrapAngle } from '../../sim/math/vec.ts';
import type { World } from '../../sim/physics/index.ts';
import { createRaycastVehicle, setVehicleInputs, updateVehicle, type VehicleController, type WheelSpec } from '../../sim/physics/vehicle.ts';
import { RFS_DT_SEC, RFS_T } from './rfs.ts';
import { G_EGO, G_GROUND, groups, type DrivingConfig, type DrivingState } from './state.ts';
import { egoPoseFast, type EgoPose } from './world.ts';

const WHEEL_QUERY_GROUPS = groups(G_EGO, G_GROUND);

function wheelSpec(cfg: DrivingConfig): WheelSpec {
  const e = cfg.ego, a = e.wheelBaseM / 2, t = e.halfTrackM;
  return {
    positionsM: [[a, -0.2, -t], [a, -0.2, t], [-a, -0.2, -t], [-a, -0.2, t]],
    steered: [0, 1], driven: [2, 3], radiusM: e.wheelRadiusM, suspensionRestM: 0.3,
    suspensionStiffness: 30, suspensionCompression: 4, suspensionRelaxation: 5, maxSuspensionForceN: 1e5,
    maxSuspensionTravelM: 0.3, frictionSlip: 2.5, sideFrictionStiffness: 1,
  };
}

const specCache = new WeakMap<DrivingConfig, WheelSpec>();
function wheelSpecCached(cfg: DrivingConfig): WheelSpec {
  let s = specCache.get(cfg);
  if (!s) { s = wheelSpec(cfg); specCache.set(cfg, s); }
  return s;
}

/** The episode's vehicle controller, created on first use (and after `rebind`) with the inputs kept in `h.ctrl`. */
export function vcOf(world: World, h: DrivingState, cfg: DrivingConfig): VehicleController {
  if (!h.$vc) {
    const spec = wheelSpec(cfg);
    h.$vc = createRaycastVehicle(world, world.getRigidBody(h.chassis), spec);
    setVehicleInputs(h.$vc, spec, { steerRad: h.ctrl.steerRad, engineN: h.ctrl.engineN, brake: h.ctrl.brake });
  }
  return h.$vc;
}

/** Store a trajectory action (ego frame) as a world-frame plan. */
export function setPlan(h: DrivingState, ego: EgoPose, action: Float32Array): void {
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
  const alpha = wrapAngle(Math.atan2(dy, dx) - ego.h);
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

/** Engine force / brake from the speed loop's force F (N), the commanded and the current speed (m/s). */
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

/** One physics substep of ego control: tracker or low-level command → wheel steering / engine / brake, then the vehicle update. */
export function controlSubstep(world: World, h: DrivingState, cfg: DrivingConfig): void {
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
}
