/**
 * driving/intersection: contract, bit-exact restore with the vehicle controller, intent labeller, RFS, traffic
 * safety, scripted driver, feasibility options. Real Rapier throughout.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initPhysics } from '../../sim/physics/index.ts';
import { makeEnv } from '../../scenes/index.ts';
import { checkEnv, type SceneEnv } from '../../sim/core/index.ts';
import { INTENT_ID, INTENTS, labelIntent } from '../../scenes/driving/intents.ts';
import { DEFAULT_RFS_PARAMS, prepareRfs, rfs, rfsBatch, RFS_T, speedFactor, type RfsScenario } from '../../scenes/driving/rfs.ts';
import { boxesOverlap } from '../../scenes/driving/traffic.ts';
import { executedTrajectory, mapOf, rfsScenarioOf, type DrivingState } from '../../scenes/driving/intersection.ts';
import { egoPose } from '../../scenes/driving/world.ts';

const ID = 'driving/intersection';

beforeAll(async () => { await initPhysics(); });

/** 20 waypoints at 0.25 s from a function of time. */
function traj(f: (t: number) => [number, number]): Float32Array {
  const out = new Float32Array(RFS_T * 2);
  for (let k = 0; k < RFS_T; k++) { const [x, y] = f((k + 1) * 0.25); out[2 * k] = x; out[2 * k + 1] = y; }
  return out;
}

/** Constant speed v along an arc turning `totalRad` over 5 s (left for positive). */
function arc(v: number, totalRad: number): Float32Array {
  const w = totalRad / 5;
  return traj((t) => (Math.abs(w) < 1e-9 ? [v * t, 0] : [(v / w) * Math.sin(w * t), (v / w) * (1 - Math.cos(w * t))]));
}

describe('driving: contract and determinism', () => {
  it('passes checkEnv (trajectory and low-level actions)', () => {
    checkEnv(() => makeEnv(ID));
    const r = checkEnv(() => makeEnv(ID, { actionMode: 'lowlevel' }), { seed: 8, steps: 24 });
    expect(r.steps).toBeGreaterThan(12); // long enough that the restore + replay branch ran
    // Optional top-down occupancy raster.
    checkEnv(() => makeEnv(ID, { 'obs.occupancy': true }), { seed: 8, steps: 4 });
    const env = makeEnv(ID, { 'obs.occupancy': true });
    try {
      const { obs } = env.reset({ seed: 0 });
      const occ = obs['observation.occupancy'] as Uint8Array;
      expect(occ.length).toBe(32 * 32);
      expect(occ.some((v) => v === 128)).toBe(true); // road
      expect(occ.some((v) => v === 255)).toBe(true); // the slow lead car ahead (seed 0 is a slow-lead scenario)
    } finally { env.dispose(); }
  });

  it('snapshot/restore mid-episode is bit-exact with the vehicle controller recreated', () => {
    const a = makeEnv(ID) as SceneEnv, b = makeEnv(ID) as SceneEnv;
    try {
      a.reset({ seed: 3 });
      const ex = a.expert();
      const acts: Float32Array[] = [];
      for (let t = 0; t < 8; t++) { const u = ex.act(); acts.push(u); a.step(u); }
      const snap = a.snapshot();
      const more: Float32Array[] = [];
      for (let t = 0; t < 8; t++) { const u = ex.act(); more.push(u); a.step(u); }
      const hash = a.stateHash();
      b.reset({ seed: 99 });
      b.restore(snap);
      for (const u of more) b.step(u);
      expect(b.stateHash()).toBe(hash);
    } finally { a.dispose(); b.dispose(); }
  });
});

describe('driving: intent labeller', () => {
  it('labels hand-made trajectories', () => {
    const v = 8;
    expect(INTENTS[labelIntent(arc(v, 0), v)]).toBe('cruise');
    expect(INTENTS[labelIntent(arc(v, Math.PI / 2), v)]).toBe('turn-left');
    expect(INTENTS[labelIntent(arc(v, -Math.PI / 2), v)]).toBe('turn-right');
    expect(INTENTS[labelIntent(arc(4, Math.PI), 4)]).toBe('u-turn');
    // Reversal: drive out 10 m, come back along the same line.
    expect(INTENTS[labelIntent(traj((t) => [t < 2.5 ? 4 * t : 20 - 4 * t, 0]), 4)]).toBe('u-turn');
    // Lateral shift of one lane (smooth), heading back to straight at the end.
    const shift = (side: number) => traj((t) => { const u = Math.min(1, t / 4); return [v * t, side * 3.5 * u * u * u * (10 - 15 * u + 6 * u * u)]; });
    expect(INTENTS[labelIntent(shift(1), v)]).toBe('lane-change-left');
    expect(INTENTS[labelIntent(shift(-1), v)]).toBe('lane-change-right');
    // Speed up / slow down along a straight line.
    expect(INTENTS[labelIntent(traj((t) => [4 * t + 0.5 * 1.2 * t * t, 0]), 4)]).toBe('accelerate');
    expect(INTENTS[labelIntent(traj((t) => [10 * t - 0.5 * 1.2 * t * t, 0]), 10)]).toBe('decelerate');
    // A gentle constant-curvature curve (lane following) is not a lane change.
    expect(INTENTS[labelIntent(arc(10, (12 * Math.PI) / 180), 10)]).toBe('cruise');
  });
});

describe('driving: rater-preference score', () => {
  const refs = [arc(8, 0), arc(8, Math.PI / 2), arc(8, 0.2)];
  const sc: RfsScenario = { v0: 8, refs: refs.flatMap((r) => Array.from(r)), ratings: [9, 6.5, 3], refIntents: [0, 3, 0] };

  it('a trajectory equal to a rated one scores exactly its rating', () => {
    expect(rfs(refs[0]!, sc)).toBe(9);
    expect(rfs(refs[1]!, sc)).toBe(6.5);
  });

  it('a far-off trajectory scores the floor 4, and the score decays monotonically in between', () => {
    expect(rfs(traj((t) => [-30 * t, 40]), sc)).toBe(4);
    let prev = Infinity;
    const scores: number[] = [];
    for (let off = 0; off <= 30; off += 0.5) {
      const s = rfs(traj((t) => [8 * t, (-off * t) / 5]), sc); // to the right, away from every reference
      scores.push(s);
      expect(s).toBeLessThanOrEqual(prev + 1e-12);
      prev = s;
    }
    expect(scores[0]).toBe(9);
    expect(scores[scores.length - 1]).toBe(4);
    expect(scores.some((s) => s < 9 && s > 4)).toBe(true);
  });

  it('thresholds scale with initial speed; batch scoring matches single scoring', () => {
    expect(speedFactor(1)).toBe(0.5);
    expect(speedFactor(20)).toBe(1);
    const n = 64;
    const batch = new Float32Array(n * RFS_T * 2);
    for (let j = 0; j < n; j++) batch.set(traj((t) => [8 * t, (j * t) / 20]), j * RFS_T * 2);
    const out = rfsBatch(batch, sc);
    const P = prepareRfs(sc);
    for (let j = 0; j < n; j++) expect(out[j]).toBeCloseTo(rfs(batch, P, j * RFS_T * 2), 5);
  });

  it('every episode carries 1–3 rated references, and metrics.rfs at the end', () => {
    const env = makeEnv(ID) as SceneEnv;
    try {
      env.reset({ seed: 5 });
      const s = rfsScenarioOf(env);
      expect(s.ratings.length).toBeGreaterThanOrEqual(1);
      expect(s.ratings.length).toBeLessThanOrEqual(3);
      // The best reference scores its own rating.
      expect(rfs(s.refs.slice(0, RFS_T * 2), s)).toBe(s.ratings[0]);
      const ex = env.expert();
      let r;
      do { r = env.step(ex.act()); } while (!r.terminated && !r.truncated);
      // RFS has a floor of 4 (outside every trust region) and a top of the best rating (≤ 10).
      expect(r.metrics.rfs).toBeGreaterThanOrEqual(DEFAULT_RFS_PARAMS.floor);
      expect(r.metrics.rfs).toBeLessThanOrEqual(Math.max(...s.ratings));
    } finally { env.dispose(); }
  });
});

describe('driving: trajectory tracker', () => {
  it('executing the best rated reference closed loop tracks it to within ~1.5 m at 3 s and 5 s', () => {
    const env = makeEnv(ID) as SceneEnv;
    const err5: number[] = [];
    let inside = 0;
    try {
      for (let seed = 500; seed < 510; seed++) {
        env.reset({ seed });
        const sc = rfsScenarioOf(env), h = env.state as DrivingState;
        const [x0, y0, h0] = h.egoT0;
        const W: number[] = [];
        for (let k = 0; k < RFS_T; k++) {
          const lx = sc.refs[2 * k]!, ly = sc.refs[2 * k + 1]!;
          W.push(x0 + lx * Math.cos(h0) - ly * Math.sin(h0), y0 + lx * Math.sin(h0) + ly * Math.cos(h0));
        }
        for (let k = 0; k < RFS_T; k++) {
          // The remaining waypoints of the fixed world-frame plan, re-expressed in the current ego frame.
          const e = egoPose(env.physicsWorld, h.chassis), c = Math.cos(e.h), s = Math.sin(e.h);
          const a = new Float32Array(RFS_T * 2);
          for (let j = 0; j < RFS_T; j++) {
            const i = Math.min(RFS_T - 1, k + j), over = k + j - (RFS_T - 1);
            const wx = W[2 * i]! + (over > 0 ? (W[2 * RFS_T - 2]! - W[2 * RFS_T - 4]!) * over : 0);
            const wy = W[2 * i + 1]! + (over > 0 ? (W[2 * RFS_T - 1]! - W[2 * RFS_T - 3]!) * over : 0);
            a[2 * j] = (wx - e.x) * c + (wy - e.y) * s; a[2 * j + 1] = -(wx - e.x) * s + (wy - e.y) * c;
          }
          const r = env.step(a);
          if (r.terminated || r.truncated) break;
        }
        const ex = executedTrajectory(h);
        err5.push(Math.hypot(ex[38]! - sc.refs[38]!, ex[39]! - sc.refs[39]!));
        if (rfs(ex, sc) === sc.ratings[0]) inside++;
      }
    } finally { env.dispose(); }
    err5.sort((p, q) => p - q);
    expect(err5[Math.floor(err5.length / 2)]).toBeLessThan(1.5);
    expect(inside).toBeGreaterThanOrEqual(4); // about 70% over 40 scenarios; lateral trust regions shrink to 0.5 m at low speed
  });
});

describe('driving: traffic and scripted driver', () => {
  it('IDM/MOBIL vehicles never collide with each other over a seeded 2-minute run', () => {
    const env = makeEnv(ID, { maxSteps: 480, 'traffic.numVehicles': 12 }) as SceneEnv;
    try {
      env.reset({ seed: 11 });
      const h = env.state as DrivingState;
      const hold = new Float32Array(RFS_T * 2); // the ego stops where it starts
      let laneChanges = 0, moved = 0;
      const s0 = h.traffic.map((v) => v.s);
      for (let t = 0; t < 480; t++) {
        const r = env.step(hold);
        const V = h.traffic;
        for (let i = 0; i < V.length; i++) {
          if (V[i]!.lcT > 0 && V[i]!.lcT <= 0.25 + 1e-9) laneChanges++;
          for (let j = i + 1; j < V.length; j++) {
            const a = V[i]!, b = V[j]!;
            if (Math.hypot(a.x - b.x, a.y - b.y) < 6) expect(boxesOverlap(a.x, a.y, a.h, 2.25, 0.9, b.x, b.y, b.h, 2.25, 0.9)).toBe(false);
          }
        }
        expect(r.truncated && t < 479).toBe(false);
      }
      moved = h.traffic.filter((v, i) => v.s !== s0[i]).length;
      expect(h.traffic.length).toBe(12);
      expect(moved).toBeGreaterThan(6);
      expect(laneChanges).toBeGreaterThan(0);
    } finally { env.dispose(); }
  });

  it('the scripted driver completes ≥ 90% of scenarios without collision and labels its demos', () => {
    const env = makeEnv(ID) as SceneEnv;
    let ok = 0;
    const n = 16;
    const labels = new Set<number>();
    try {
      for (let seed = 200; seed < 200 + n; seed++) {
        env.reset({ seed });
        const ex = env.expert();
        let r;
        do { r = env.step(ex.act()); } while (!r.terminated && !r.truncated);
        if (r.metrics.success === 1 && r.metrics.collided === 0) ok++;
        const lab = ex.labels();
        expect(typeof lab.intent).toBe('number');
        expect(INTENTS[lab.intent as number]).toBe(lab.intentName);
        labels.add(lab.intent as number);
      }
    } finally { env.dispose(); }
    expect(ok / n).toBeGreaterThanOrEqual(0.9);
    expect(labels.size).toBeGreaterThanOrEqual(4);
  });
});

describe('driving: feasibility options', () => {
  it('uTurn / turnLeft / cruise can be forced infeasible, U-turn forced feasible', () => {
    for (const seed of [1, 2, 3]) {
      const no = makeEnv(ID, { 'scenario.feasible.uTurn': 'no', 'scenario.feasible.turnLeft': 'no', 'scenario.feasible.cruise': 'no' }) as SceneEnv;
      try {
        no.reset({ seed });
        const h = no.state as DrivingState;
        const map = mapOf(h);
        expect(map.lanes.some((l) => l.turn === 'uturn')).toBe(false);
        expect(map.arms[1]!.closed).toBe(true);
        expect(h.feasible[INTENT_ID['u-turn']]).toBe(false);
        expect(h.feasible[INTENT_ID['turn-left']]).toBe(false);
        expect(h.feasible[INTENT_ID.cruise]).toBe(false);
      } finally { no.dispose(); }
    }
    let uturnFeasible = 0;
    for (const seed of [1, 2, 3, 4]) {
      const yes = makeEnv(ID, { 'scenario.kind': 'uTurn', 'scenario.feasible.uTurn': 'yes' }) as SceneEnv;
      try {
        yes.reset({ seed });
        const h = yes.state as DrivingState;
        expect(mapOf(h).lanes.some((l) => l.turn === 'uturn')).toBe(true);
        if (h.feasible[INTENT_ID['u-turn']]) uturnFeasible++;
      } finally { yes.dispose(); }
    }
    expect(uturnFeasible).toBeGreaterThan(0);
  });

  it('rejects bad options with a one-line error', () => {
    const env = makeEnv(ID, { 'scenario.feasible.uTurn': 'maybe' });
    expect(() => env.reset({ seed: 1 })).toThrow(/scenario\.feasible\.uTurn/);
    env.dispose();
  });
});
