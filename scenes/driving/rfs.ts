/**
 * Rater-preference score (RFS, 0–10): a closed-loop-simulator analogue of Waymo's Rater Feedback Score (WOD-E2E).
 *
 * A scenario carries up to 3 rated reference trajectories (ego frame at t0, 20 waypoints at 4 Hz, ratings 0–10 from
 * the hidden-cost planner in planner.ts) and the ego's initial speed. A candidate trajectory (same layout) is scored:
 *   for each reference r and horizon h ∈ {3 s, 5 s} (waypoint indices 11 and 19):
 *     e_lon, e_lat = the candidate's error at h, split along / across the reference's heading at h;
 *     thresholds  lon_h = {4.0, 7.2} m · f(v0), lat_h = {1.0, 1.8} m · f(v0),
 *                 f(v0) = 0.5 for v0 ≤ 1.4 m/s, 1.0 for v0 ≥ 11 m/s, linear between;
 *     x = max(|e_lon| / lon_h, |e_lat| / lat_h)   (normalised distance; ≤ 1 is inside the trust region);
 *     score_{r,h} = rating_r                                  if x ≤ 1,
 *                 = max(floor, rating_r · exp(−decay · (x − 1)))  otherwise  (floor = 4);
 *   score_r = mean over the horizons;  RFS = max over references.
 * A candidate equal to a reference therefore scores exactly that reference's rating, a far-off one scores 4, and the
 * score decays monotonically between the two.
 *
 * `prepareRfs` precomputes per-reference points, unit headings and thresholds so `rfs()` is an allocation-free loop.
 */
export const RFS_T = 20;
export const RFS_DT_SEC = 0.25;
export const RFS_HORIZON_IDX = [11, 19] as const; // 3 s and 5 s
const LON_M = [4.0, 7.2];
const LAT_M = [1.0, 1.8];

export interface RfsParams {
  /** Score floor outside every trust region. */
  floor: number;
  /** Exponential decay rate per unit of normalised excess distance. */
  decay: number;
}
export const DEFAULT_RFS_PARAMS: RfsParams = { floor: 4, decay: 0.5 };

/** Plain data (lives in the scene state and in datasets). */
export interface RfsScenario {
  /** Ego speed at t0, m/s. */
  v0: number;
  /** Reference trajectories, each RFS_T × 2 ego-frame waypoints, flattened (refs × 40). */
  refs: number[];
  /** Rating 0–10 per reference. */
  ratings: number[];
  /** Intent index of each reference (diagnostic). */
  refIntents: number[];
}

export interface PreparedRfs {
  nRefs: number;
  /** Per (ref, horizon): px, py, ux, uy (reference heading), 1/lon, 1/lat. */
  table: Float64Array;
  ratings: Float64Array;
  floor: number;
  decay: number;
}

export function speedFactor(v0: number): number {
  if (v0 <= 1.4) return 0.5;
  if (v0 >= 11) return 1;
  return 0.5 + (0.5 * (v0 - 1.4)) / (11 - 1.4);
}

export function prepareRfs(sc: RfsScenario, p: RfsParams = DEFAULT_RFS_PARAMS): PreparedRfs {
  const n = sc.ratings.length;
  if (n < 1 || n > 3) throw new Error(`rfs: a scenario needs 1–3 rated references, got ${n}`);
  if (sc.refs.length !== n * RFS_T * 2) throw new Error(`rfs: refs must hold ${n} × ${RFS_T} × 2 numbers, got ${sc.refs.length}`);
  const f = speedFactor(sc.v0);
  const table = new Float64Array(n * 2 * 6);
  for (let r = 0; r < n; r++) {
    for (let k = 0; k < 2; k++) {
      const i = RFS_HORIZON_IDX[k]!;
      const o = r * RFS_T * 2;
      const px = sc.refs[o + 2 * i]!, py = sc.refs[o + 2 * i + 1]!;
      // Reference heading at h: direction of the surrounding segment (the last long-enough one before it).
      let ux = 0, uy = 0;
      for (let j = i; j >= 0 && ux * ux + uy * uy < 1e-6; j--) {
        const ax = j > 0 ? sc.refs[o + 2 * (j - 1)]! : 0, ay = j > 0 ? sc.refs[o + 2 * (j - 1) + 1]! : 0;
        ux = sc.refs[o + 2 * j]! - ax; uy = sc.refs[o + 2 * j + 1]! - ay;
      }
      const L = Math.hypot(ux, uy);
      if (L < 1e-3) { ux = 1; uy = 0; } else { ux /= L; uy /= L; }
      const t = (r * 2 + k) * 6;
      table[t] = px; table[t + 1] = py; table[t + 2] = ux; table[t + 3] = uy;
      table[t + 4] = 1 / (LON_M[k]! * f); table[t + 5] = 1 / (LAT_M[k]! * f);
    }
  }
  return { nRefs: n, table, ratings: Float64Array.from(sc.ratings), floor: p.floor, decay: p.decay };
}

const prepCache = new WeakMap<RfsScenario, PreparedRfs>();

/** RFS of one trajectory (RFS_T × 2 ego-frame waypoints, at `offset` inside `traj`). */
export function rfs(traj: ArrayLike<number>, scenario: RfsScenario | PreparedRfs, offset = 0): number {
  let P: PreparedRfs;
  if ('table' in scenario) P = scenario;
  else {
    let c = prepCache.get(scenario);
    if (!c) { c = prepareRfs(scenario); prepCache.set(scenario, c); }
    P = c;
  }
  const tb = P.table;
  let best = -Infinity;
  for (let r = 0; r < P.nRefs; r++) {
    const rating = P.ratings[r]!;
    let sum = 0;
    for (let k = 0; k < 2; k++) {
      const i = offset + 2 * (k === 0 ? RFS_HORIZON_IDX[0] : RFS_HORIZON_IDX[1]);
      const t = (r * 2 + k) * 6;
      const dx = traj[i]! - tb[t]!, dy = traj[i + 1]! - tb[t + 1]!;
      const ux = tb[t + 2]!, uy = tb[t + 3]!;
      const lon = Math.abs(dx * ux + dy * uy) * tb[t + 4]!;
      const lat = Math.abs(dy * ux - dx * uy) * tb[t + 5]!;
      const x = lon > lat ? lon : lat;
      if (x <= 1) sum += rating;
      else {
        const s = rating * Math.exp(-P.decay * (x - 1));
        sum += s > P.floor ? s : P.floor;
      }
    }
    const sc = sum * 0.5;
    if (sc > best) best = sc;
  }
  return best;
}

/** RFS of N trajectories packed as N × RFS_T × 2; writes into `out` (length ≥ N) and returns it. */
export function rfsBatch(trajs: ArrayLike<number>, scenario: RfsScenario | PreparedRfs, out?: Float32Array): Float32Array {
  const n = Math.floor(trajs.length / (RFS_T * 2));
  const P = 'table' in scenario ? scenario : prepareRfs(scenario);
  const o = out ?? new Float32Array(n);
  for (let j = 0; j < n; j++) o[j] = rfs(trajs, P, j * RFS_T * 2);
  return o;
}

/** True when a trajectory lies inside the trust region of any reference at both horizons (the "TR hit"). */
export function trustRegionHit(traj: ArrayLike<number>, scenario: RfsScenario | PreparedRfs, offset = 0): boolean {
  const P = 'table' in scenario ? scenario : prepareRfs(scenario);
  const tb = P.table;
  for (let r = 0; r < P.nRefs; r++) {
    let inside = true;
    for (let k = 0; k < 2 && inside; k++) {
      const i = offset + 2 * RFS_HORIZON_IDX[k]!;
      const t = (r * 2 + k) * 6;
      const dx = traj[i]! - tb[t]!, dy = traj[i + 1]! - tb[t + 1]!;
      const lon = Math.abs(dx * tb[t + 2]! + dy * tb[t + 3]!) * tb[t + 4]!;
      const lat = Math.abs(dy * tb[t + 2]! - dx * tb[t + 3]!) * tb[t + 5]!;
      if (lon > 1 || lat > 1) inside = false;
    }
    if (inside) return true;
  }
  return false;
}
