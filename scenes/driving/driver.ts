/**
 * The scripted driver of the driving scenes: ONE maneuver per scenario chosen by a fixed bias (deliberately
 * mode-collapsed — the condition DIAL is about), then driven closed loop with IDM-style speed control along the
 * maneuver's lanes. It writes the intent label of its demo (`labels()`).
 *
 * Choice rule (at the first step, from the scenario at t0):
 *   1. Turn routes (left / right / U-turn): change to the lane the turn needs if not in it, then take the turn;
 *      before a left turn or U-turn it waits at the stop line while oncoming traffic is within `yieldGapSec`.
 *   2. Straight routes, own lane blocked (a static obstacle or a stopped car ahead): change lanes, preferring the
 *      RIGHT neighbour, the left one only when there is no right lane.
 *   3. A slower leader ahead: FOLLOW it (decelerate) — never overtake. (Raters often prefer overtaking: the demo
 *      shows one mode only.)
 *   4. Slower than the cruise speed by > 3 m/s: accelerate to it.  5. Otherwise cruise at the current speed.
 * Labels: `intent` = the intent rule (intents.ts) applied to the executed first 5 s of the demo, `intentName`,
 * `maneuver` = the chosen maneuver, `intentPlanned` = the rule applied to the first planned trajectory.
 */
import type { ScriptedExpert } from '../../sim/core/index.ts';
import { project, type Projection, type Turn } from './geometry.ts';
import { INTENTS, labelIntent } from './intents.ts';
import { generateTrajectory, lanesWithTurn, cachedPath, type Maneuver } from './planner.ts';
import { RFS_DT_SEC, RFS_T } from './rfs.ts';
import { egoPose, leaderOnPath } from './world.ts';
import { mapOf, type DrivingConfig, type DrivingState } from './state.ts';

export interface DriverParams {
  /** IDM of the scripted driver. */
  aMaxMps2: number; bCompMps2: number; headwaySec: number; minGapM: number; bMaxMps2: number;
  /** Oncoming traffic closer than this (time to the box, s) makes it wait before a left turn / U-turn. */
  yieldGapSec: number;
}
export const DRIVER: DriverParams = { aMaxMps2: 2, bCompMps2: 2.5, headwaySec: 1.5, minGapM: 3.5, bMaxMps2: 8, yieldGapSec: 6 };

type Choice = 'cruise' | 'accelerate' | 'follow' | 'lane-change-left' | 'lane-change-right' | 'turn';

export function scriptedDriver(cfg: DrivingConfig): ScriptedExpert<DrivingConfig, DrivingState> {
  let lanes: number[] = [];
  let choice: Choice = 'cruise';
  let blendS0 = 0, blendLen = 10, blendD0 = 0, vTarget = 10;
  let committed = false;
  const hist: number[] = [];
  let t0: [number, number, number, number] = [0, 0, 0, 0];
  let firstPlan: Float32Array | null = null;
  const idm = { aMaxMps2: DRIVER.aMaxMps2, bCompMps2: DRIVER.bCompMps2, headwaySec: DRIVER.headwaySec, minGapM: DRIVER.minGapM, bMaxMps2: DRIVER.bMaxMps2 };
  const pj: Projection = { s: 0, d: 0, dist: 0, h: 0 };

  function choose(h: DrivingState, ego: { x: number; y: number; h: number; v: number }): void {
    const map = mapOf(h);
    const lane = map.lanes[h.route.startLane]!;
    const turn: Turn = h.route.turn;
    const corridor = cfg.traffic.corridorHalfM;
    vTarget = cfg.ego.cruiseSpeedMps;
    if (turn !== 'straight') {
      const arm = map.arms[lane.arm]!;
      const target = map.lanes[arm.inLanes[h.route.laneIndex]!]!;
      lanes = lanesWithTurn(map, target.id, turn);
      choice = target.id === lane.id ? 'turn' : target.index < lane.index ? 'lane-change-left' : 'lane-change-right';
    } else {
      const own = cachedPath(map, lanesWithTurn(map, lane.id, 'straight'));
      project(own, ego.x, ego.y, pj);
      const lead = leaderOnPath(own, pj.s, 70, corridor, h.traffic, h.statics, 2.25, cfg.ego.halfLengthM);
      const blocked = lead.gap < 65 && lead.v < 0.5;
      if (blocked && (lane.right >= 0 || lane.left >= 0)) {
        const side = lane.right >= 0 ? lane.right : lane.left;
        lanes = lanesWithTurn(map, side, 'straight');
        choice = side === lane.right ? 'lane-change-right' : 'lane-change-left';
      } else {
        lanes = lanesWithTurn(map, lane.id, 'straight');
        if (lead.gap < 60 && lead.v < ego.v - 1.5) choice = 'follow';
        else if (ego.v < cfg.ego.cruiseSpeedMps - 3) choice = 'accelerate';
        else { choice = 'cruise'; vTarget = Math.max(ego.v, 1); }
      }
    }
    const path = cachedPath(map, lanes);
    project(path, ego.x, ego.y, pj);
    blendS0 = pj.s;
    blendD0 = pj.d;
    blendLen = choice === 'lane-change-left' || choice === 'lane-change-right' ? Math.max(22, ego.v * 3.2) : 0;
  }

  return {
    reset() {
      lanes = []; hist.length = 0; committed = false; firstPlan = null;
    },
    act(world, h) {
      const map = mapOf(h);
      const e = egoPose(world, h.chassis);
      const ego = { x: e.x, y: e.y, h: e.h, v: Math.max(0, e.v) };
      if (lanes.length === 0) { choose(h, ego); t0 = [...h.egoT0]; }
      hist.push(e.x, e.y);
      const path = cachedPath(map, lanes);
      project(path, ego.x, ego.y, pj);
      const lead = leaderOnPath(path, pj.s, 60, cfg.traffic.corridorHalfM, h.traffic, h.statics, 2.25, cfg.ego.halfLengthM);
      // Yield before a left turn / U-turn while oncoming traffic is close to the box.
      let stopAtS = Infinity;
      const connIdx = path.laneIds.findIndex((id) => map.lanes[id]!.kind === 'conn');
      if (connIdx > 0) {
        const conn = map.lanes[path.laneIds[connIdx]!]!;
        const lineS = path.laneStartS[connIdx]!;
        if (pj.s > lineS + 0.5) committed = true;
        if (!committed && (conn.turn === 'left' || conn.turn === 'uturn')) {
          const opp = map.arms[(conn.arm + 2) % 4]!;
          let conflict = false;
          for (const v of h.traffic) {
            const l = map.lanes[v.lane]!;
            const toBox = l.lengthM - v.s;
            if (l.kind === 'in' && l.arm === (conn.arm + 2) % 4 && toBox < Math.max(20, v.v * DRIVER.yieldGapSec)) conflict = true;
            if (l.kind === 'conn' && l.arm !== conn.arm) conflict = true;
          }
          void opp;
          if (conflict) stopAtS = lineS - 0.5;
        }
      }
      // A lane change keeps its anchored lateral blend until done; otherwise the lateral error is re-anchored each step.
      const lcActive = (choice === 'lane-change-left' || choice === 'lane-change-right' || choice === 'turn') && pj.s < blendS0 + blendLen;
      const m: Maneuver = {
        path, blendS0: lcActive ? blendS0 : pj.s, blendLenM: lcActive ? blendLen : Math.max(8, ego.v * 2), blendD0: lcActive ? blendD0 : pj.d, mode: 'follow', vTargetMps: choice === 'cruise' ? vTarget : cfg.ego.cruiseSpeedMps,
        accelMps2: 0, stopAtS, leadGapM: lead.gap, leadVMps: lead.v, latAccMps2: h.route.turn === 'uturn' ? 3 : 2.5,
      };
      const out = new Float32Array(RFS_T * 2);
      generateTrajectory(m, ego, idm, out);
      if (!firstPlan) firstPlan = out.slice();
      return out;
    },
    labels() {
      // Executed first 5 s in the ego frame at t0 (padded with the last position).
      const traj = new Float32Array(RFS_T * 2);
      const [x0, y0, h0, v0] = t0;
      const c = Math.cos(h0), s = Math.sin(h0);
      const n = hist.length / 2;
      for (let k = 0; k < RFS_T; k++) {
        const j = Math.min(k + 1, n - 1);
        const dx = (hist[2 * j] ?? x0) - x0, dy = (hist[2 * j + 1] ?? y0) - y0;
        traj[2 * k] = dx * c + dy * s; traj[2 * k + 1] = -dx * s + dy * c;
      }
      const intent = labelIntent(traj, v0, RFS_DT_SEC);
      const planned = firstPlan ? labelIntent(firstPlan, v0, RFS_DT_SEC) : intent;
      return { intent, intentName: INTENTS[intent]!, maneuver: choice, intentPlanned: planned };
    },
  };
}
