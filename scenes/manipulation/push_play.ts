/**
 * manip/push_play — two blocks, two target zones on the table, no fixed goal: push any block into any zone, in any
 * order. The Block-Push-style play task of POLICIES.md §2.7 (BESO's minimal faithful version): multimodal play data
 * (4 modes = order × assignment) for goal-conditioned imitation with hindsight goals.
 *
 * Layout (as Block-Push): the zones are fixed flat regions (`zonesXZ`, invisible to the depth camera), further out than
 * the blocks; the two blocks (block0 red, block1 blue) start side by side near fixed spots (`startsXZ`, uniform jitter
 * ±`startJitterM` per axis, random yaw) — the variation that matters is the choice of order and assignment, not where
 * the blocks happen to lie.
 *
 * The expert picks, from its own seeded RNG, which block goes first and to which zone; the other block then goes to
 * the other zone. It pushes with the closed fingers (`pushPlan`). Its choices are the episode labels
 * { firstBlock, firstZone, secondBlock, secondZone, mode } with mode = 2·firstBlock + firstZone (as manip/play).
 *
 * Hindsight goals: `observation.object` = 2 × [x, y, z, qx, qy, qz, qw]; the goal-relevant part is each block's
 * (x, z) — `playGoalFromObject` of manip/play applies unchanged.
 *
 * Success ("tasks completed regardless of goal"): each block's centre within `zoneTolM` (horizontal) of a different
 * zone centre. Reward terms: reach (−distance grasp point → nearest block not in a zone, m), progress (decrease of
 * Σ_blocks distance to the nearest zone, m), place (number of blocks in zones, per step), actionRate (−‖a_t − a_{t−1}‖²).
 */
import { defineScene } from '../../sim/core/index.ts';
import type { Rng } from '../../sim/math/rng.ts';
import type { World } from '../../sim/physics/index.ts';
import { applyArmAction, buildArm, graspPoint, ikTopDown } from './arm.ts';
import { MANIP_RANGES,
  actionRate, addBlock, addDistractors, benchDepth, blockPos, clearStepCache, commonFeatures, defaultManipConfig, observeCommon, objectCueState, cueStream,
  nearestZoneDistM, PLAY_ZONE_COLORS, setupWorld, styleCommon, sumNearestZoneDistM, twoBlockPlayOutcome, drawPlayOrder, type ManipConfig, type ManipState,
  MANIP_LIVE_CONFIG,
} from './common.ts';
import { WaypointFollower, pushPlan } from './expert.ts';

export interface PushPlayConfig extends ManipConfig {
  /** Target zone centres (x, z), metres. */
  zonesXZ: [number, number][];
  /** A block is in a zone when its centre is within this horizontal distance of the zone centre, metres. */
  zoneTolM: number;
  /** Nominal start spots (x, z) of block0 and block1, metres. */
  startsXZ: [number, number][];
  /** Uniform jitter of each start coordinate, ± metres. */
  startJitterM: number;
  /** Expert: grasp-point height while pushing (the closed fingers reach 2 cm below it), metres above the table. */
  expertPushYM: number;
  /** Expert: pushing speed, m/s. */
  expertPushSpeedMps: number;
  /** Expert: a push ends when the block centre is this close to its zone centre, metres (< zoneTolM). */
  expertDoneTolM: number;
  /**
   * Expert: each step's commanded point starts from the 'measured' grasp point (a Markovian expert, easy to imitate
   * from observations) or from its previous 'command' (smooth, but a hidden state) — see `WaypointFollower`.
   */
  expertAnchor: 'command' | 'measured';
}

export function defaultConfig(): PushPlayConfig {
  return {
    ...defaultManipConfig(),
    maxSteps: 300,
    blockHalfM: 0.03,
    blockMassKg: 0.2,
    blockFriction: 0.5,
    blockYawJitterRad: 0.6,
    maxBearingRad: 0.7,
    reward: { scales: { reach: 0.5, progress: 10, place: 1, actionRate: 0.01 } },
    zonesXZ: [[0.48, -0.15], [0.48, 0.15]],
    zoneTolM: 0.05,
    startsXZ: [[0.3, -0.09], [0.3, 0.09]],
    startJitterM: 0.03,
    expertPushYM: 0.04,
    expertPushSpeedMps: 0.15,
    expertDoneTolM: 0.025,
    expertAnchor: 'measured',
  };
}

export interface PushPlayState extends ManipState {
  /** Σ_blocks distance to the nearest zone after the previous step, metres. */
  prevSumM: number;
}

const NUM_BLOCKS = 2;


/** Zone index each block is in (−1 = none). */
export function pushZoneOfBlocks(world: World, h: ManipState, cfg: PushPlayConfig): number[] {
  const out: number[] = [];
  for (let b = 0; b < NUM_BLOCKS; b++) {
    const p = blockPos(world, h, b);
    out.push(cfg.zonesXZ.findIndex(([x, z]) => Math.hypot(p.x - x, p.z - z) < cfg.zoneTolM));
  }
  return out;
}

export const pushPlay = defineScene<PushPlayConfig, PushPlayState>({
  id: 'manip/push_play',
  family: 'manipulation',
  description: 'Table-top arm push play: two blocks, two zones, push any block into any zone in any order (multimodal; hindsight goals).',
  defaultConfig,
  liveConfig: MANIP_LIVE_CONFIG,
  configRanges: MANIP_RANGES,

  features: (cfg) => commonFeatures(cfg, NUM_BLOCKS),

  build(world, cfg, rng: Rng) {
    const shiftRng = rng.fork(), cueRng = cueStream(shiftRng);
    const table = setupWorld(world, cfg);
    const arm = buildArm(world, cfg.arm, ikTopDown(cfg.arm, { x: 0.3, y: 0.13, z: 0 }));
    const blocks: number[] = [], blockColliders: number[] = [];
    const starts: { x: number; z: number }[] = [];
    for (let b = 0; b < NUM_BLOCKS; b++) {
      const [x0, z0] = cfg.startsXZ[b]!;
      const p = { x: x0 + rng.uniform(-cfg.startJitterM, cfg.startJitterM), z: z0 + rng.uniform(-cfg.startJitterM, cfg.startJitterM) };
      starts.push(p);
      const blk = addBlock(world, cfg, rng, p);
      blocks.push(blk.body); blockColliders.push(blk.collider);
    }
    const d = addDistractors(world, cfg, shiftRng, [...cfg.zonesXZ.map(([x, z]) => ({ x, z, r: 0.08 })), ...starts.map((s) => ({ ...s, r: 0.07 })), { x: 0, z: 0, r: 0.1 }]);
    const h: PushPlayState = {
      arm, table, blocks, blockColliders, fixtures: [], distractors: d.colliders, distractorColors: d.colors,
      prevAction: [0, 0, 0, 0, 0], cue: objectCueState(cfg, cueRng, 2), prevSumM: 0,
    };
    h.prevSumM = starts.reduce((s, p) => s + nearestZoneDistM(cfg.zonesXZ, p), 0);
    return h;
  },

  applyAction(world, h, action, cfg) {
    clearStepCache(h);
    h.prevSumM = sumNearestZoneDistM(world, h, cfg.zonesXZ);
    applyArmAction(world, h.arm, cfg.arm, action);
  },

  observe: (world, h, cfg, rng) => observeCommon(world, h, cfg, rng),

  rewardTerms(world, h, action, cfg) {
    const g = graspPoint(world, h.arm, cfg.arm);
    const zones = pushZoneOfBlocks(world, h, cfg);
    let nearest = Infinity;
    for (let b = 0; b < NUM_BLOCKS; b++) {
      if (zones[b]! >= 0) continue;
      const p = blockPos(world, h, b);
      nearest = Math.min(nearest, Math.hypot(g.x - p.x, g.y - p.y, g.z - p.z));
    }
    return {
      reach: Number.isFinite(nearest) ? -nearest : 0,
      progress: h.prevSumM - sumNearestZoneDistM(world, h, cfg.zonesXZ),
      place: zones.filter((z) => z >= 0).length,
      actionRate: actionRate(h, action),
    };
  },

  ...twoBlockPlayOutcome(pushZoneOfBlocks),

  render(world, h, cfg) {
    const z = pushZoneOfBlocks(world, h, cfg);
    return {
      overlays: cfg.zonesXZ.map(([x, zz], i) => ({ kind: 'zone' as const, id: `zone${i}`, center: [x, 0.001, zz] as [number, number, number], halfExtentsM: [cfg.zoneTolM, cfg.zoneTolM] as [number, number], color: PLAY_ZONE_COLORS[i % PLAY_ZONE_COLORS.length]! })),
      hud: { block0Zone: z[0]!, block1Zone: z[1]! },
    };
  },
  style: (h, handle) => styleCommon(h, handle),
  bench: (world, _h, cfg) => benchDepth(world, cfg),

  expert(cfg) {
    let follower: WaypointFollower;
    let labels: Record<string, number> = {};
    return {
      reset(_world, _h, _cfg, rng) {
        const { firstBlock, firstZone, secondBlock, secondZone, labels: l } = drawPlayOrder(rng);
        labels = l;
        const zone = (i: number) => () => ({ x: cfg.zonesXZ[i]![0], z: cfg.zonesXZ[i]![1] });
        const push = { pushYM: cfg.expertPushYM, pushSpeedMps: cfg.expertPushSpeedMps, hoverYM: 0.13, doneTolM: cfg.expertDoneTolM };
        const first = pushPlan(cfg, { ...push, block: firstBlock, goal: zone(firstZone), offset: 0 });
        const second = pushPlan(cfg, { ...push, block: secondBlock, goal: zone(secondZone), offset: first.length });
        follower = new WaypointFollower([...first, ...second], 0.4, cfg.expertAnchor);
      },
      act: (world, h) => follower.act(world, h, cfg),
      labels: () => ({ ...labels }),
    };
  },
});
