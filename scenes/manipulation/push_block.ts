/**
 * manip/push_block — push a block across the table into a target region (planar, contact-rich).
 *
 * The block and the target are placed at random in the workspace, `minSeparationM`–`maxSeparationM` apart. The
 * target is a flat region (invisible to the depth camera); its centre is given as `observation.goal` (x, z, m).
 * The expert pushes with the closed fingers; the block cannot be lifted by the scripted pusher but a learned policy
 * may do anything the physics allows.
 *
 * Success (documented tolerance): the block centre is within `targetTolM` of the target centre (horizontal).
 *
 * Reward terms (scaled by `reward.scales`): reach (−distance grasp point → block, m), progress (decrease of the
 * block→target distance this step, m), place (1 on success), actionRate (−‖a_t − a_{t−1}‖²).
 */
import { OBS_GOAL, defineScene } from '../../sim/core/index.ts';
import type { Rng } from '../../sim/math/rng.ts';
import type { World } from '../../sim/physics/index.ts';
import { applyArmAction, buildArm, graspPoint, ikTopDown } from './arm.ts';
import { MANIP_RANGES,
  actionRate, addBlock, benchDepth, clearStepCache, addDistractors, blockPos, commonFeatures, defaultManipConfig, observeCommon, objectCueState, cueStream, sampleFree,
  setupWorld, styleCommon, type ManipConfig, type ManipState,
  MANIP_LIVE_CONFIG,
} from './common.ts';
import { WaypointFollower, pushPlan } from './expert.ts';

export interface PushBlockConfig extends ManipConfig {
  /** Block–target distance at reset is in [minSeparationM, maxSeparationM], metres. */
  minSeparationM: number;
  maxSeparationM: number;
  /** Success radius around the target centre, metres. */
  targetTolM: number;
  /** Expert: grasp-point height while pushing (the closed fingers reach 2 cm below it), metres above the table. */
  expertPushYM: number;
  /** Expert: pushing speed, m/s. */
  expertPushSpeedMps: number;
  /**
   * Expert: each step's commanded point starts from the 'measured' grasp point (a Markovian expert, easy to imitate
   * from observations) or from its previous 'command' (smooth, but a hidden state) — see `WaypointFollower`.
   */
  expertAnchor: 'command' | 'measured';
}

export function defaultConfig(): PushBlockConfig {
  return {
    ...defaultManipConfig(),
    maxSteps: 200,
    blockHalfM: 0.03,
    blockMassKg: 0.2,
    blockFriction: 0.5,
    blockYawJitterRad: 0.6,
    reward: { scales: { reach: 0.5, progress: 10, place: 5, actionRate: 0.01 } },
    minSeparationM: 0.12,
    maxSeparationM: 0.3,
    targetTolM: 0.04,
    expertPushYM: 0.04,
    expertPushSpeedMps: 0.12,
    expertAnchor: 'command',
  };
}

export interface PushBlockState extends ManipState {
  /** Target centre (x, z), metres. */
  goal: [number, number];
  /** Block→target distance after the previous step, metres. */
  prevDistM: number;
}

function distToGoal(world: World, h: PushBlockState): number {
  const b = blockPos(world, h, 0);
  return Math.hypot(b.x - h.goal[0], b.z - h.goal[1]);
}

export const pushBlock = defineScene<PushBlockConfig, PushBlockState>({
  id: 'manip/push_block',
  family: 'manipulation',
  description: 'Table-top arm: push a block into a target region (planar, contact-rich; depth, tactile, proprio).',
  defaultConfig,
  liveConfig: MANIP_LIVE_CONFIG,
  configRanges: MANIP_RANGES,

  features(cfg) {
    const f = commonFeatures(cfg, 1);
    f.observation[OBS_GOAL] = { kind: 'goal', shape: [2], dtype: 'float32', names: ['target_x', 'target_z'], units: 'm' };
    return f;
  },

  build(world, cfg, rng: Rng) {
    const shiftRng = rng.fork(), cueRng = cueStream(shiftRng);
    const table = setupWorld(world, cfg);
    const arm = buildArm(world, cfg.arm, ikTopDown(cfg.arm, { x: 0.3, y: 0.14, z: 0 }));
    let goal = sampleFree(rng, cfg, [], 0), start = goal;
    for (let tries = 0; ; tries++) {
      start = sampleFree(rng, cfg, [{ ...goal, r: cfg.minSeparationM }], 0);
      if (Math.hypot(start.x - goal.x, start.z - goal.z) <= cfg.maxSeparationM) break;
      if (tries > 200) throw new Error('push_block: cannot place block and target with the configured separation');
    }
    const blk = addBlock(world, cfg, rng, start);
    const d = addDistractors(world, cfg, shiftRng, [{ ...goal, r: 0.06 }, { ...start, r: 0.08 }, { x: 0, z: 0, r: 0.1 }]);
    return {
      arm, table, blocks: [blk.body], blockColliders: [blk.collider], fixtures: [],
      distractors: d.colliders, distractorColors: d.colors,
      prevAction: [0, 0, 0, 0, 0], cue: objectCueState(cfg, cueRng, 1), goal: [goal.x, goal.z], prevDistM: Math.hypot(start.x - goal.x, start.z - goal.z),
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
    return {
      reach: -Math.hypot(g.x - b.x, g.y - b.y, g.z - b.z),
      progress: h.prevDistM - d,
      place: d < cfg.targetTolM ? 1 : 0,
      actionRate: actionRate(h, action),
    };
  },

  isSuccess: (world, h, cfg) => distToGoal(world, h) < cfg.targetTolM,
  terminalReason(world, h) {
    const b = blockPos(world, h, 0);
    return b.y < -0.1 || Math.hypot(b.x, b.z) > 0.95 ? 'block-off-table' : null;
  },
  metrics: (world, h) => ({ blockToGoalM: distToGoal(world, h) }),

  // The target region is flat and invisible to the camera: the viewer may drag it (steering) mid-episode.
  steerTarget: (_world, h) => [h.goal[0], 0.001, h.goal[1]],
  steer(world, h, _cfg, t) {
    h.goal = [t[0], t[2]];
    h.prevDistM = distToGoal(world, h);
  },

  render(world, h, cfg) {
    return {
      overlays: [{ kind: 'zone', id: 'target', center: [h.goal[0], 0.001, h.goal[1]], halfExtentsM: [cfg.targetTolM, cfg.targetTolM], color: '#3cb371' }],
      hud: { blockToGoalM: Number(distToGoal(world, h).toFixed(3)) },
    };
  },
  style: (h, handle) => styleCommon(h, handle),
  bench: (world, _h, cfg) => benchDepth(world, cfg),

  /** Pusher (`pushPlan`): hover behind the block, descend, push along the block→target line, re-approach on a slip. */
  expert(cfg) {
    let follower: WaypointFollower;
    return {
      reset() {
        follower = new WaypointFollower(pushPlan(cfg, {
          block: 0, goal: (_w, h) => ({ x: (h as PushBlockState).goal[0], z: (h as PushBlockState).goal[1] }),
          pushYM: cfg.expertPushYM, pushSpeedMps: cfg.expertPushSpeedMps, hoverYM: 0.13, offset: 0,
        }), 0.4, cfg.expertAnchor);
      },
      act: (world, h) => follower.act(world, h, cfg),
    };
  },
});
