/**
 * The eight maneuver intents (DIAL's vocabulary) and the rule that labels any future ego trajectory with one.
 *
 * A trajectory is `T` waypoints (x, y) in the ego frame at t0 (x forward, y left, metres), spaced `dtSec` apart and
 * starting one step after t0 — the driving scenes' trajectory action (20 points = 5 s at 4 Hz). The rule
 * (POLICIES.md §4.2, first one that fires):
 *   Δψ  = accumulated heading change along the path (unwrapped sum of segment turns; segments shorter than
 *         `minSegM` are skipped so a stopped car does not produce a heading), from the initial heading 0;
 *   y_T = lateral offset of the last waypoint minus the offset a constant-curvature arc of the same length and
 *         heading change would have (L·(1 − cos Δψ)/Δψ), so following a curved lane is not a lane change;
 *   Δv = end speed (last segment) − start speed `v0`.
 *   1. |Δψ| > uTurnRad (135°)                            → U-turn
 *   2. Δψ > turnRad (30°) → turn-left;  Δψ < −turnRad   → turn-right
 *   3. |y_T| > laneChangeLatM (2.5 m) and |Δψ| < laneChangeMaxHeadingRad (15°) → lane-change-left/right by sign
 *   4. Δv > speedChangeMps (2 m/s) → accelerate; Δv < −speedChangeMps → decelerate
 *   5. otherwise cruise.
 */
export const INTENTS = [
  'cruise', 'lane-change-left', 'lane-change-right', 'turn-left', 'turn-right', 'u-turn', 'accelerate', 'decelerate',
] as const;
export type Intent = (typeof INTENTS)[number];
export const NUM_INTENTS = INTENTS.length;
export const INTENT_ID: Readonly<Record<Intent, number>> = Object.fromEntries(INTENTS.map((n, i) => [n, i])) as Record<Intent, number>;

export interface IntentRule {
  uTurnRad: number;
  turnRad: number;
  laneChangeLatM: number;
  laneChangeMaxHeadingRad: number;
  speedChangeMps: number;
  /** Segments shorter than this do not define a heading (stopped vehicle), m. */
  minSegM: number;
}

export const DEFAULT_INTENT_RULE: IntentRule = {
  uTurnRad: (135 * Math.PI) / 180,
  turnRad: (30 * Math.PI) / 180,
  laneChangeLatM: 2.5,
  laneChangeMaxHeadingRad: (15 * Math.PI) / 180,
  speedChangeMps: 2,
  minSegM: 0.05,
};

export interface IntentFeatures {
  dHeadingRad: number;
  finalHeadingRad: number;
  /** Final lateral offset beyond the constant-curvature arc, m. */
  finalLatM: number;
  dSpeedMps: number;
}

/** The quantities the rule looks at (exported for tests and diagnostics). */
export function intentFeatures(traj: ArrayLike<number>, v0: number, dtSec = 0.25, rule: IntentRule = DEFAULT_INTENT_RULE): IntentFeatures {
  const T = traj.length >> 1;
  if (T < 1) throw new Error('intent: trajectory needs at least one waypoint');
  let px = 0, py = 0, prevH = 0, acc = 0, len = 0;
  for (let i = 0; i < T; i++) {
    const x = traj[2 * i]!, y = traj[2 * i + 1]!;
    const dx = x - px, dy = y - py;
    if (dx * dx + dy * dy >= rule.minSegM * rule.minSegM) {
      const h = Math.atan2(dy, dx);
      let dh = h - prevH;
      while (dh > Math.PI) dh -= 2 * Math.PI;
      while (dh <= -Math.PI) dh += 2 * Math.PI;
      acc += dh;
      prevH = h;
      len += Math.sqrt(dx * dx + dy * dy);
    }
    px = x; py = y;
  }
  const lx = T >= 2 ? traj[2 * T - 4]! : 0, ly = T >= 2 ? traj[2 * T - 3]! : 0;
  const vEnd = Math.hypot(traj[2 * T - 2]! - lx, traj[2 * T - 1]! - ly) / dtSec;
  const yArc = Math.abs(acc) > 1e-6 ? (len * (1 - Math.cos(acc))) / acc : (len * acc) / 2;
  return { dHeadingRad: acc, finalHeadingRad: acc, finalLatM: traj[2 * T - 1]! - yArc, dSpeedMps: vEnd - v0 };
}

/** Intent index (into INTENTS) of a future ego trajectory; see the module comment for the rule. */
export function labelIntent(traj: ArrayLike<number>, v0: number, dtSec = 0.25, rule: IntentRule = DEFAULT_INTENT_RULE): number {
  const f = intentFeatures(traj, v0, dtSec, rule);
  const dpsi = f.dHeadingRad;
  if (Math.abs(dpsi) > rule.uTurnRad) return INTENT_ID['u-turn'];
  if (dpsi > rule.turnRad) return INTENT_ID['turn-left'];
  if (dpsi < -rule.turnRad) return INTENT_ID['turn-right'];
  if (Math.abs(f.finalLatM) > rule.laneChangeLatM && Math.abs(f.finalHeadingRad) < rule.laneChangeMaxHeadingRad) {
    return f.finalLatM > 0 ? INTENT_ID['lane-change-left'] : INTENT_ID['lane-change-right'];
  }
  if (f.dSpeedMps > rule.speedChangeMps) return INTENT_ID.accelerate;
  if (f.dSpeedMps < -rule.speedChangeMps) return INTENT_ID.decelerate;
  return INTENT_ID.cruise;
}
