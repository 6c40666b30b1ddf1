/**
 * toy/zone_play — goal-conditioned, multimodal "play" on a plane (BESO's study task, cheap enough to evaluate
 * thousands of rollouts on 2 CPU cores).
 *
 * A ball (the agent, pushed by horizontal forces as in toy/point_reach) starts at the bottom of the arena. A wall sits
 * between the start region and three target zones along the top (left, middle, right):
 *
 * ```
 *   z = +0.6     (L)        (M)        (R)          zones (tasks)
 *   z = -0.15          [=====wall=====]             the ball must go around it, left OR right
 *   z = -0.8                   o                    start region
 * ```
 * The scripted play expert visits `zonesPerEpisode` distinct zones in random order, going around the wall on a random
 * side (50/50), dwelling a few steps in each zone: data with several tasks and two ways to solve each first task.
 * Goal-conditioned evaluation: the scene draws a goal zone (or `goalZone` fixes it); success = the ball reaches the
 * goal zone. Metrics report every zone reached ("tasks completed regardless of goal") and the side on which the ball
 * passed the wall (the mode).
 *
 * Observation `observation.state` (4): ball x, z (m), velocity x, z (m/s); `observation.goal` (2): the centre x, z (m)
 * of this episode's goal zone, in the same layout as the state's first two entries (a goal-conditioned policy reads
 * it; in recorded play data it is the scene's evaluation goal, NOT what the expert was doing — play policies are
 * trained on hindsight goals instead).
 * Action (2): horizontal force along x and z, normalised to [-1, 1] (× maxForceN).
 */
import { ACTION, OBS_GOAL, OBS_STATE, defineScene, type SceneConfigBase } from '../../sim/core/index.ts';
import { addBody, addCollider, addGround, type World } from '../../sim/physics/index.ts';
import type { Rng } from '../../sim/math/rng.ts';

export interface ZonePlayConfig extends SceneConfigBase {
  /** Force at |action| = 1, newtons. */
  maxForceN: number;
  /** Ball radius, metres. */
  ballRadiusM: number;
  /** Ball mass, kg. */
  ballMassKg: number;
  /** Linear damping of the ball (1/s). */
  linearDamping: number;
  /** Start x is drawn in [-startHalfWidthM, startHalfWidthM]. */
  startHalfWidthM: number;
  /** Start z (m) is drawn in [startZM − 0.1, startZM + 0.1]. */
  startZM: number;
  /** Fixed start [x, z] (m) instead of a random one (multimodality probe); empty = random. */
  fixedStart: number[];
  /** Wall centre z (m); the wall is centred at x = 0. */
  wallZM: number;
  /** Wall half extents along x and z, metres. */
  wallHalfXM: number;
  wallHalfZM: number;
  /** Zone centres x (m), all at z = zoneZM. */
  zoneXM: number[];
  zoneZM: number;
  /** A zone is reached when the ball centre is within this distance of its centre, metres. */
  zoneRadiusM: number;
  /** Goal zone index for goal-conditioned evaluation; −1 = drawn from the episode RNG. */
  goalZone: number;
  /** Zones the play expert visits per episode (distinct, random order). */
  zonesPerEpisode: number;
  /** Control steps the expert dwells in each zone. */
  dwellSteps: number;
}

export function defaultConfig(): ZonePlayConfig {
  return {
    ctrlDtSec: 0.05,
    simDtSec: 0.025,
    maxSteps: 80,
    terminateOnSuccess: true,
    reward: { scales: { goal: 1, effort: 0.01 } },
    maxForceN: 10,
    ballRadiusM: 0.08,
    ballMassKg: 1,
    linearDamping: 2,
    startHalfWidthM: 0.25,
    startZM: -0.8,
    fixedStart: [],
    wallZM: -0.15,
    wallHalfXM: 0.4,
    wallHalfZM: 0.08,
    zoneXM: [-0.6, 0, 0.6],
    zoneZM: 0.6,
    zoneRadiusM: 0.15,
    goalZone: -1,
    zonesPerEpisode: 2,
    dwellSteps: 6,
  };
}

export interface ZonePlayState {
  ball: number;
  /** Goal zone index of this episode. */
  goalZone: number;
  /** Ball x, z (m) and velocity x, z (m/s), read once per control step. */
  ball4: [number, number, number, number];
  /** Bit k set once zone k has been reached. */
  zonesReached: number;
  /** Side on which the ball first crossed the wall's row: −1 left (x < 0), +1 right, 0 not yet. */
  passSide: number;
  /** Expert plan: zone order, side per segment, current waypoint index, dwell counter. */
  plan: { zones: number[]; side: number; wp: number; dwell: number } | null;
}

/** The goal vector of zone k: its centre [x, z] (same layout as the first two state entries). */
export function zonePlayGoal(cfg: ZonePlayConfig, k: number): Float32Array {
  return Float32Array.of(cfg.zoneXM[k]!, cfg.zoneZM);
}

function readBall(world: World, h: ZonePlayState, cfg: ZonePlayConfig): void {
  const b = world.getRigidBody(h.ball);
  const t = b.translation(), v = b.linvel();
  const prevZ = h.ball4[1];
  h.ball4 = [t.x, t.z, v.x, v.z];
  if (h.passSide === 0 && prevZ < cfg.wallZM && t.z >= cfg.wallZM) h.passSide = t.x < 0 ? -1 : 1;
  cfg.zoneXM.forEach((zx, k) => {
    if (Math.hypot(t.x - zx, t.z - cfg.zoneZM) < cfg.zoneRadiusM) h.zonesReached |= 1 << k;
  });
}

function inGoal(h: ZonePlayState): boolean {
  return (h.zonesReached & (1 << h.goalZone)) !== 0;
}

export const zonePlay = defineScene<ZonePlayConfig, ZonePlayState>({
  id: 'toy/zone_play',
  family: 'toy',
  description: 'A ball goes around a wall (left or right) to one of three zones: multimodal goal-conditioned play (BESO study).',
  defaultConfig,
  configRanges: {
    goalZone: { min: -1, max: 2, int: true },
    zonesPerEpisode: { min: 1, max: 3, int: true },
    dwellSteps: { min: 1, max: 10_000, int: true },
  },

  features: () => ({
    observation: {
      [OBS_STATE]: { kind: 'state', shape: [4], dtype: 'float32', names: ['x', 'z', 'vx', 'vz'], units: 'm, m/s' },
      [OBS_GOAL]: { kind: 'goal', shape: [2], dtype: 'float32', names: ['goal_x', 'goal_z'], units: 'm' },
    },
    action: { [ACTION]: { kind: 'action', shape: [2], dtype: 'float32', low: -1, high: 1, names: ['fx', 'fz'] } },
  }),

  build(world, cfg, rng: Rng) {
    if (cfg.zoneXM.length < 1 || cfg.zoneXM.length > 8) throw new Error('toy/zone_play: zoneXM needs 1–8 zones');
    addGround(world, { friction: 0.2 });
    const wall = addBody(world, { type: 'fixed', p: { x: 0, y: 0.15, z: cfg.wallZM } });
    addCollider(world, wall, { kind: 'box', halfExtentsM: [cfg.wallHalfXM, 0.15, cfg.wallHalfZM] }, { friction: 0.2 });
    let sx = rng.uniform(-cfg.startHalfWidthM, cfg.startHalfWidthM);
    let sz = rng.uniform(cfg.startZM - 0.1, cfg.startZM + 0.1);
    if (cfg.fixedStart.length === 2) { sx = cfg.fixedStart[0]!; sz = cfg.fixedStart[1]!; }
    const goalZone = cfg.goalZone >= 0 ? cfg.goalZone : rng.int(cfg.zoneXM.length);
    if (goalZone >= cfg.zoneXM.length) throw new Error(`toy/zone_play: goalZone ${goalZone} out of range (have ${cfg.zoneXM.length} zones)`);
    const body = addBody(world, { p: { x: sx, y: cfg.ballRadiusM, z: sz }, linearDamping: cfg.linearDamping });
    body.lockRotations(true, false);
    addCollider(world, body, { kind: 'sphere', radiusM: cfg.ballRadiusM }, { massKg: cfg.ballMassKg, friction: 0.2 });
    return { ball: body.handle, goalZone, ball4: [sx, sz, 0, 0], zonesReached: 0, passSide: 0, plan: null };
  },

  applyAction(world, h, action, cfg) {
    const b = world.getRigidBody(h.ball);
    b.resetForces(false);
    b.addForce({ x: action[0]! * cfg.maxForceN, y: 0, z: action[1]! * cfg.maxForceN }, true);
  },

  afterStep: (world, h, cfg) => readBall(world, h, cfg),

  observe(_world, h, cfg) {
    return { [OBS_STATE]: Float32Array.from(h.ball4), [OBS_GOAL]: zonePlayGoal(cfg, h.goalZone) };
  },

  rewardTerms(_world, h, action) {
    return { goal: inGoal(h) ? 1 : 0, effort: -(action[0]! * action[0]! + action[1]! * action[1]!) };
  },

  isSuccess: (_world, h) => inGoal(h),
  terminalReason: () => null,
  metrics: (_world, h) => {
    let n = 0;
    for (let m = h.zonesReached; m; m >>= 1) n += m & 1;
    return { goalZone: h.goalZone, zonesReached: h.zonesReached, anyZone: h.zonesReached ? 1 : 0, numZones: n, passSide: h.passSide };
  },

  render(_world, h, cfg) {
    return {
      overlays: cfg.zoneXM.map((zx, k) => ({
        kind: 'zone' as const, id: `zone${k}`, center: [zx, 0.001, cfg.zoneZM] as [number, number, number],
        halfExtentsM: [cfg.zoneRadiusM, cfg.zoneRadiusM] as [number, number], color: k === h.goalZone ? '#3cb371' : '#8899aa',
      })),
      hud: { goalZone: h.goalZone, zonesReached: h.zonesReached, passSide: h.passSide },
    };
  },

  style: (_h, handle) => (handle === 0 ? { name: 'ground', color: '#9aa0a6' } : handle === 1 ? { name: 'wall', color: '#6b5b4b' } : { name: 'ball', color: '#e07b39' }),

  /**
   * Play expert: visits `zonesPerEpisode` distinct zones in random order; the first segment goes around the wall on a
   * random side through a via point beside it; PD control toward the current waypoint; dwells in each zone.
   */
  expert: (cfg) => {
    let labels: Record<string, number | string> = {};
    const viaX = cfg.wallHalfXM + cfg.ballRadiusM + 0.2;
    const waypoint = (h: ZonePlayState): [number, number, 'via' | 'zone' | 'hold'] => {
      const p = h.plan!;
      if (p.wp === 0) return [p.side * viaX, cfg.wallZM, 'via'];
      const k = p.zones[Math.min(p.wp - 1, p.zones.length - 1)]!;
      return [cfg.zoneXM[k]!, cfg.zoneZM, p.wp - 1 < p.zones.length ? 'zone' : 'hold'];
    };
    return {
      reset(_world, h, _cfg, rng) {
        const order = rng.shuffle(cfg.zoneXM.map((_, k) => k)).slice(0, Math.min(cfg.zonesPerEpisode, cfg.zoneXM.length));
        const side = rng.next() < 0.5 ? -1 : 1;
        h.plan = { zones: order, side, wp: 0, dwell: 0 };
        labels = { firstZone: order[0]!, order: order.join(''), side };
      },
      act(_world, h) {
        const p = h.plan!;
        const [x, z, vx, vz] = h.ball4;
        let [wx, wz, kind] = waypoint(h);
        const d = Math.hypot(wx - x, wz - z);
        if (kind === 'via' && (d < 0.2 || z > cfg.wallZM + cfg.wallHalfZM)) { p.wp++; [wx, wz, kind] = waypoint(h); }
        else if (kind === 'zone' && d < cfg.zoneRadiusM * 0.6) {
          if (++p.dwell >= cfg.dwellSteps) { p.wp++; p.dwell = 0; [wx, wz, kind] = waypoint(h); }
        }
        const kp = kind === 'via' ? 4 : 3, kd = 0.8;
        const fx = kp * (wx - x) - kd * vx, fz = kp * (wz - z) - kd * vz;
        return Float32Array.of(Math.max(-1, Math.min(1, fx)), Math.max(-1, Math.min(1, fz)));
      },
      labels: () => labels,
    };
  },
});
