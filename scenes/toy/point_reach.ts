/**
 * toy/point_reach — a ball on a plane, pushed by a horizontal force, must reach a goal disc.
 * The smallest real Rapier scene: used by the core tests and by the policy core's learning tests.
 *
 * Observation `observation.state` (6): ball x, z (m), velocity x, z (m/s), goal − ball x, z (m). With `splitObs` it
 * is two keys instead: `observation.goal_rel` (goal − ball x, z, m) and `observation.velocity` (vx, vz, m/s) — a
 * two-modality toy for observation-prioritising methods (FDP's learning test).
 * Action (2): horizontal force along x and z, normalised to [-1, 1] (× maxForceN).
 */
import { ACTION, OBS_STATE, defineScene, type Features, type SceneConfigBase } from '../../sim/core/index.ts';
import { addBody, addCollider, addGround, type World } from '../../sim/physics/index.ts';
import type { Rng } from '../../sim/math/rng.ts';

/** Keys of the split observation (`splitObs`). */
export const OBS_GOAL_REL = 'observation.goal_rel', OBS_VELOCITY = 'observation.velocity';

export interface PointReachConfig extends SceneConfigBase {
  /** Force at |action| = 1, newtons. */
  maxForceN: number;
  /** Ball radius, metres. */
  ballRadiusM: number;
  /** Ball mass, kg. */
  ballMassKg: number;
  /** Linear damping of the ball (1/s): it stops by itself. */
  linearDamping: number;
  /** Start and goal are drawn uniformly in [-arenaHalfM, arenaHalfM]² (and at least minStartGoalDistM apart). */
  arenaHalfM: number;
  /** Minimum start–goal distance, metres. */
  minStartGoalDistM: number;
  /** Success when the ball centre is within this distance of the goal, metres. */
  goalToleranceM: number;
  /** Observe `observation.goal_rel` + `observation.velocity` instead of `observation.state`. */
  splitObs: boolean;
}

export function defaultConfig(): PointReachConfig {
  return {
    ctrlDtSec: 0.05,
    simDtSec: 0.01,
    maxSteps: 100,
    terminateOnSuccess: true,
    reward: { scales: { progress: 10, reach: 1, effort: 0.01 } },
    maxForceN: 10,
    ballRadiusM: 0.1,
    ballMassKg: 1,
    linearDamping: 2,
    arenaHalfM: 1,
    minStartGoalDistM: 0.5,
    goalToleranceM: 0.1,
    splitObs: false,
  };
}

export interface PointReachState {
  ball: number;
  goal: [number, number];
  /** Ball x, z (m) and velocity x, z (m/s), read once per control step in `afterStep`. */
  ball4: [number, number, number, number];
  /** Distance to goal before the last step (for the progress term), metres. */
  prevDistM: number;
}

/** Read the ball's state from the world into `h.ball4` (once per control step; everything else reads the cache). */
function readBall(world: World, h: PointReachState): void {
  const b = world.getRigidBody(h.ball);
  const t = b.translation(), v = b.linvel();
  h.ball4 = [t.x, t.z, v.x, v.z];
}

function distToGoal(h: PointReachState): number {
  return Math.hypot(h.goal[0] - h.ball4[0], h.goal[1] - h.ball4[1]);
}

export const pointReach = defineScene<PointReachConfig, PointReachState>({
  id: 'toy/point_reach',
  family: 'toy',
  description: 'A ball pushed by horizontal forces to a goal on a plane (core tests, learning tests).',
  defaultConfig,

  features: (cfg): { observation: Features; action: Features } => ({
    observation: cfg.splitObs ? {
      [OBS_GOAL_REL]: { kind: 'state', shape: [2], dtype: 'float32', names: ['dx_goal', 'dz_goal'], units: 'm' },
      [OBS_VELOCITY]: { kind: 'state', shape: [2], dtype: 'float32', names: ['vx', 'vz'], units: 'm/s' },
    } : {
      [OBS_STATE]: { kind: 'state', shape: [6], dtype: 'float32', names: ['x', 'z', 'vx', 'vz', 'dx_goal', 'dz_goal'], units: 'm, m/s' },
    },
    action: { [ACTION]: { kind: 'action', shape: [2], dtype: 'float32', low: -1, high: 1, names: ['fx', 'fz'] } },
  }),

  build(world, cfg, rng: Rng) {
    addGround(world, { friction: 0.2 });
    const a = cfg.arenaHalfM;
    let sx = 0, sz = 0, gx = 0, gz = 0;
    do {
      sx = rng.uniform(-a, a); sz = rng.uniform(-a, a);
      gx = rng.uniform(-a, a); gz = rng.uniform(-a, a);
    } while (Math.hypot(gx - sx, gz - sz) < cfg.minStartGoalDistM);
    const body = addBody(world, { p: { x: sx, y: cfg.ballRadiusM, z: sz }, linearDamping: cfg.linearDamping });
    body.lockRotations(true, false);
    addCollider(world, body, { kind: 'sphere', radiusM: cfg.ballRadiusM }, { massKg: cfg.ballMassKg, friction: 0.2 });
    return { ball: body.handle, goal: [gx, gz], ball4: [sx, sz, 0, 0], prevDistM: Math.hypot(gx - sx, gz - sz) };
  },

  applyAction(world, h, action, cfg) {
    const b = world.getRigidBody(h.ball);
    h.prevDistM = distToGoal(h);
    b.resetForces(false);
    b.addForce({ x: action[0]! * cfg.maxForceN, y: 0, z: action[1]! * cfg.maxForceN }, true);
  },

  afterStep: (world, h) => readBall(world, h),

  observe(_world, h, cfg): Record<string, Float32Array> {
    const [x, z, vx, vz] = h.ball4;
    if (cfg.splitObs) return { [OBS_GOAL_REL]: Float32Array.of(h.goal[0] - x, h.goal[1] - z), [OBS_VELOCITY]: Float32Array.of(vx, vz) };
    return { [OBS_STATE]: Float32Array.of(x, z, vx, vz, h.goal[0] - x, h.goal[1] - z) };
  },

  rewardTerms(_world, h, action, cfg) {
    const d = distToGoal(h);
    return {
      progress: h.prevDistM - d,
      reach: d < cfg.goalToleranceM ? 1 : 0,
      effort: -(action[0]! * action[0]! + action[1]! * action[1]!),
    };
  },

  isSuccess: (_world, h, cfg) => distToGoal(h) < cfg.goalToleranceM,
  terminalReason: () => null,
  metrics: (_world, h) => ({ distToGoalM: distToGoal(h) }),

  render(_world, h, cfg) {
    return {
      overlays: [{ kind: 'zone', id: 'goal', center: [h.goal[0], 0.001, h.goal[1]], halfExtentsM: [cfg.goalToleranceM, cfg.goalToleranceM], color: '#3cb371' }],
      hud: { distToGoalM: Number(distToGoal(h).toFixed(3)) },
    };
  },

  steerTarget: (_world, h) => [h.goal[0], 0.001, h.goal[1]],
  steer(_world, h, _cfg, t) {
    h.goal = [t[0], t[2]];
    h.prevDistM = distToGoal(h);
  },
  liveConfig: ['maxForceN', 'linearDamping', 'goalToleranceM'],

  style: (h, handle) => (handle === 0 ? { name: 'ground', color: '#9aa0a6' } : { name: 'ball', color: '#e07b39' }),

  /** PD controller toward the goal: force = kp·(goal − x) − kd·v, clipped to the action box. */
  expert: () => ({
    reset() {},
    act(_world, h) {
      const [x, z, vx, vz] = h.ball4;
      const kp = 3, kd = 0.8;
      const fx = kp * (h.goal[0] - x) - kd * vx;
      const fz = kp * (h.goal[1] - z) - kd * vz;
      return Float32Array.of(Math.max(-1, Math.min(1, fx)), Math.max(-1, Math.min(1, fz)));
    },
    /** The plan: a straight path ball → goal, and the commanded force as an arrow. */
    debugOverlays(_world, h, cfg) {
      const [x, z, vx, vz] = h.ball4;
      const fx = Math.max(-1, Math.min(1, 3 * (h.goal[0] - x) - 0.8 * vx)), fz = Math.max(-1, Math.min(1, 3 * (h.goal[1] - z) - 0.8 * vz));
      const y = cfg.ballRadiusM;
      return [
        { kind: 'polyline', id: 'expert-plan', points: [x, 0.01, z, h.goal[0], 0.01, h.goal[1]], color: '#7c4dff' },
        { kind: 'arrow', id: 'expert-force', from: [x, y, z], to: [x + 0.4 * fx, y, z + 0.4 * fz], color: '#ff4081' },
      ];
    },
  }),
});
