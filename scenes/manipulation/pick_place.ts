/**
 * manip/pick_place — grasp a cube and place it in an open tray (lift, carry, release).
 *
 * The cube and the tray are placed at random in the workspace (radius 0.25–0.5 m, bearing ±0.9 rad), at least
 * `minSeparationM` apart. The tray is visible to the depth camera (low walls); its centre is also given as
 * `observation.goal` (x, z, m).
 *
 * Success (documented tolerance): the cube's centre is inside the tray's inner square with a margin of
 * `placeMarginM` from the walls, the cube rests low (centre below `blockHalfM + restTolM`), and neither finger pad
 * touches it (released).
 *
 * Reward terms (scaled by `reward.scales`): reach (−distance grasp point → cube, m), grasp (1 while both pads hold
 * the cube), progress (decrease of the cube→tray distance this step, m), place (1 on success), actionRate
 * (−‖a_t − a_{t−1}‖²).
 */
import { OBS_GOAL, defineScene } from '../../sim/core/index.ts';
import type { Rng } from '../../sim/math/rng.ts';
import { applyArmAction, buildArm, graspPoint, ikTopDown } from './arm.ts';
import { MANIP_RANGES,
  actionRate, addBlock, benchDepth, clearStepCache, addDistractors, addTray, blockPos, commonFeatures, defaultManipConfig, defaultTray, inTray,
  isGrasped, isTouched, observeCommon, objectCueState, cueStream, sampleFree, setupWorld, styleCommon,
  type ManipConfig, type ManipState, type TrayConfig,
  MANIP_LIVE_CONFIG,
} from './common.ts';
import { WaypointFollower, pickPlacePlan } from './expert.ts';

export interface PickPlaceConfig extends ManipConfig {
  /** The target tray. */
  tray: TrayConfig;
  /** Minimum distance between the cube and the tray centre at reset, metres. */
  minSeparationM: number;
  /** Success: the cube centre must be at least this far inside the tray's inner walls, metres. */
  placeMarginM: number;
  /** Success: the cube centre must be below blockHalfM + restTolM (resting on the table inside the tray), metres. */
  restTolM: number;
  /** Expert: grasp-point height while carrying, metres. */
  expertCarryYM: number;
  /**
   * Expert: each step's commanded point starts from the 'measured' grasp point (a Markovian expert, easy to imitate
   * from observations) or from its previous 'command' (smooth, but a hidden state) — see `WaypointFollower`.
   */
  expertAnchor: 'command' | 'measured';
}

export function defaultConfig(): PickPlaceConfig {
  return {
    ...defaultManipConfig(),
    maxSteps: 200,
    reward: { scales: { reach: 0.5, grasp: 0.1, progress: 10, place: 5, actionRate: 0.01 } },
    tray: defaultTray(),
    minSeparationM: 0.16,
    placeMarginM: 0.01,
    restTolM: 0.008,
    expertCarryYM: 0.14,
    expertAnchor: 'command',
  };
}

export interface PickPlaceState extends ManipState {
  /** Tray centre (x, z), metres. */
  goal: [number, number];
  /** Cube→tray distance after the previous step, metres. */
  prevDistM: number;
}

function distToGoal(world: import('../../sim/physics/index.ts').World, h: PickPlaceState): number {
  const b = blockPos(world, h, 0);
  return Math.hypot(b.x - h.goal[0], b.z - h.goal[1]);
}

export function placedIn(world: import('../../sim/physics/index.ts').World, h: ManipState, cfg: ManipConfig & { tray: TrayConfig; placeMarginM: number; restTolM: number }, block: number, tray: { x: number; z: number }): boolean {
  const b = blockPos(world, h, block);
  return b.y < cfg.blockHalfM + cfg.restTolM && inTray(cfg.tray, tray, b, cfg.placeMarginM) && !isTouched(world, h, block);
}

export const pickPlace = defineScene<PickPlaceConfig, PickPlaceState>({
  id: 'manip/pick_place',
  family: 'manipulation',
  description: 'Table-top arm: grasp a cube by friction and place it in a tray (depth, tactile, proprio; shifts as config).',
  defaultConfig,
  liveConfig: MANIP_LIVE_CONFIG,
  configRanges: MANIP_RANGES,

  features(cfg) {
    const f = commonFeatures(cfg, 1);
    f.observation[OBS_GOAL] = { kind: 'goal', shape: [2], dtype: 'float32', names: ['tray_x', 'tray_z'], units: 'm' };
    return f;
  },

  build(world, cfg, rng: Rng) {
    const shiftRng = rng.fork(), cueRng = cueStream(shiftRng);
    const table = setupWorld(world, cfg);
    const q0 = ikTopDown(cfg.arm, { x: 0.3, y: cfg.expertCarryYM, z: 0 });
    const arm = buildArm(world, cfg.arm, q0);
    const trayR = cfg.tray.innerHalfM + cfg.tray.wallThickM;
    const tray = sampleFree(rng, cfg, [], 0);
    const cubeP = sampleFree(rng, cfg, [{ ...tray, r: Math.max(cfg.minSeparationM, trayR * 1.5) }], 0);
    const blk = addBlock(world, cfg, rng, cubeP);
    const fixtures = addTray(world, cfg.tray, tray);
    const d = addDistractors(world, cfg, shiftRng, [{ ...tray, r: trayR * 1.5 }, { ...cubeP, r: 0.06 }, { x: 0, z: 0, r: 0.1 }]);
    return {
      arm, table, blocks: [blk.body], blockColliders: [blk.collider], fixtures,
      distractors: d.colliders, distractorColors: d.colors,
      prevAction: [0, 0, 0, 0, 0], cue: objectCueState(cfg, cueRng, 1), goal: [tray.x, tray.z], prevDistM: Math.hypot(cubeP.x - tray.x, cubeP.z - tray.z),
    };
  },

  applyAction(world, h, action, cfg) {
    clearStepCache(h);
    h.prevDistM = distToGoal(world, h);
    applyArmAction(world, h.arm, cfg.arm, action);
  },

  observe(world, h, cfg, rng) {
    return { ...observeCommon(world, h, cfg, rng), [OBS_GOAL]: Float32Array.of(h.goal[0], h.goal[1]) };
  },

  rewardTerms(world, h, action, cfg) {
    const g = graspPoint(world, h.arm, cfg.arm), b = blockPos(world, h, 0);
    const d = distToGoal(world, h);
    const success = placedIn(world, h, cfg, 0, { x: h.goal[0], z: h.goal[1] });
    return {
      reach: -Math.hypot(g.x - b.x, g.y - b.y, g.z - b.z),
      grasp: isGrasped(world, h, 0) ? 1 : 0,
      progress: h.prevDistM - d,
      place: success ? 1 : 0,
      actionRate: actionRate(h, action),
    };
  },

  isSuccess: (world, h, cfg) => placedIn(world, h, cfg, 0, { x: h.goal[0], z: h.goal[1] }),
  terminalReason(world, h) {
    const b = blockPos(world, h, 0);
    return b.y < -0.1 || Math.hypot(b.x, b.z) > 0.95 ? 'block-off-table' : null;
  },
  metrics(world, h) {
    return { blockToGoalM: distToGoal(world, h), grasped: isGrasped(world, h, 0) ? 1 : 0 };
  },

  render(world, h, cfg) {
    return {
      overlays: [{ kind: 'zone', id: 'tray', center: [h.goal[0], 0.001, h.goal[1]], halfExtentsM: [cfg.tray.innerHalfM, cfg.tray.innerHalfM], color: '#3cb371' }],
      hud: { blockToGoalM: Number(distToGoal(world, h).toFixed(3)), grasped: isGrasped(world, h, 0) },
    };
  },
  style: (h, handle) => styleCommon(h, handle),
  bench: (world, _h, cfg) => benchDepth(world, cfg),

  expert(cfg) {
    let follower: WaypointFollower;
    return {
      reset() {
        follower = new WaypointFollower(pickPlacePlan(cfg, {
          block: 0, carryYM: cfg.expertCarryYM, gripSteps: 6, offset: 0,
          place: (_w, h) => ({ x: (h as PickPlaceState).goal[0], z: (h as PickPlaceState).goal[1] }),
        }), 0.4, cfg.expertAnchor);
      },
      act: (world, h) => follower.act(world, h, cfg),
    };
  },
});
