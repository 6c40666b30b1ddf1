/**
 * manip/play — two blocks, two trays, no fixed goal: any block may go to any tray, in any order. The multimodal
 * "play" data BESO learns from; goals are future states (hindsight relabelling).
 *
 * Layout: the trays are fixed (`zonesXZ`, left and right of the arm's forward axis); the two blocks (block0 red,
 * block1 blue) are placed at random in the workspace, away from the trays and each other.
 *
 * The expert picks, from its own seeded RNG, which block goes first and which tray it goes to; the other block then
 * goes to the other tray (4 modes: order × assignment). Its choices are returned by `labels()` and recorded per
 * episode: { firstBlock, firstZone, secondBlock, secondZone, mode } with mode = 2·firstBlock + firstZone.
 *
 * Hindsight goals: `observation.object` holds both blocks' poses (2 × [x, y, z, qx, qy, qz, qw]); the goal-relevant
 * part is each block's (x, z), see `playGoalFromObject` / `playGoalReached` (exported for goal-conditioned
 * evaluation: a future observation.object becomes the goal).
 *
 * Success ("tasks completed regardless of goal"): each block rests, released, inside a different tray (same tolerance
 * as pick_place: `placeMarginM` inside the walls, centre below blockHalfM + restTolM, no finger contact).
 *
 * Reward terms: reach (−distance grasp point → nearest block not yet placed, m), grasp (1 while a block is held),
 * progress (decrease of Σ_blocks distance to the nearest tray, m), place (number of blocks placed, per step),
 * actionRate (−‖a_t − a_{t−1}‖²).
 */
import { defineScene } from '../../sim/core/index.ts';
import type { Rng } from '../../sim/math/rng.ts';
import type { World } from '../../sim/physics/index.ts';
import { applyArmAction, buildArm, graspPoint, ikTopDown } from './arm.ts';
import { MANIP_RANGES,
  actionRate, addBlock, benchDepth, clearStepCache, addDistractors, addTray, blockPos, commonFeatures, defaultManipConfig, defaultTray, isGrasped,
  nearestZoneDistM, observeCommon, objectCueState, cueStream, PLAY_ZONE_COLORS, sampleFree, setupWorld, styleCommon, sumNearestZoneDistM, twoBlockPlayOutcome, drawPlayOrder, type ManipConfig, type ManipState, type TrayConfig,
  MANIP_LIVE_CONFIG,
} from './common.ts';
import { WaypointFollower, pickPlacePlan } from './expert.ts';
import { placedIn } from './pick_place.ts';

export interface PlayConfig extends ManipConfig {
  /** The two trays. */
  tray: TrayConfig;
  /** Tray centres (x, z), metres. */
  zonesXZ: [number, number][];
  /** Blocks start at least this far from a tray centre, metres. */
  zoneClearanceM: number;
  /** Success: block centre at least this far inside a tray's inner walls, metres. */
  placeMarginM: number;
  /** Success: block centre below blockHalfM + restTolM, metres. */
  restTolM: number;
  /** Expert: grasp-point height while carrying, metres. */
  expertCarryYM: number;
}

export function defaultConfig(): PlayConfig {
  return {
    ...defaultManipConfig(),
    maxSteps: 300,
    reward: { scales: { reach: 0.5, grasp: 0.1, progress: 10, place: 1, actionRate: 0.01 } },
    tray: defaultTray(),
    zonesXZ: [[0.34, -0.24], [0.34, 0.24]],
    zoneClearanceM: 0.15,
    placeMarginM: 0.01,
    restTolM: 0.008,
    expertCarryYM: 0.14,
  };
}

export interface PlayState extends ManipState {
  /** Σ_blocks distance to the nearest tray after the previous step, metres. */
  prevSumM: number;
}

const NUM_BLOCKS = 2;


/** Tray index each block is placed in (−1 = none). */
export function zoneOfBlocks(world: World, h: ManipState, cfg: PlayConfig): number[] {
  const out: number[] = [];
  for (let b = 0; b < NUM_BLOCKS; b++) {
    let zone = -1;
    cfg.zonesXZ.forEach(([x, z], i) => { if (zone < 0 && placedIn(world, h, cfg, b, { x, z })) zone = i; });
    out.push(zone);
  }
  return out;
}

/** Goal vector from an `observation.object` (2 × 7): each block's (x, z) → [x0, z0, x1, z1]. */
export function playGoalFromObject(object: ArrayLike<number>): Float32Array {
  return Float32Array.of(object[0]!, object[2]!, object[7]!, object[9]!);
}

/** Whether the blocks in `object` are within `tolM` (horizontal) of the goal positions `goal` = [x0, z0, x1, z1]. */
export function playGoalReached(object: ArrayLike<number>, goal: ArrayLike<number>, tolM = 0.04): boolean {
  const g = playGoalFromObject(object);
  return Math.hypot(g[0]! - goal[0]!, g[1]! - goal[1]!) <= tolM && Math.hypot(g[2]! - goal[2]!, g[3]! - goal[3]!) <= tolM;
}

export const play = defineScene<PlayConfig, PlayState>({
  id: 'manip/play',
  family: 'manipulation',
  description: 'Table-top arm play: two blocks, two trays, any block to any tray in any order (multimodal; hindsight goals).',
  defaultConfig,
  liveConfig: MANIP_LIVE_CONFIG,
  configRanges: MANIP_RANGES,

  features: (cfg) => commonFeatures(cfg, NUM_BLOCKS),

  build(world, cfg, rng: Rng) {
    const shiftRng = rng.fork(), cueRng = cueStream(shiftRng);
    const table = setupWorld(world, cfg);
    const arm = buildArm(world, cfg.arm, ikTopDown(cfg.arm, { x: 0.3, y: cfg.expertCarryYM, z: 0 }));
    const avoid = cfg.zonesXZ.map(([x, z]) => ({ x, z, r: cfg.zoneClearanceM }));
    const blocks: number[] = [], blockColliders: number[] = [];
    const starts: { x: number; z: number }[] = [];
    for (let b = 0; b < NUM_BLOCKS; b++) {
      const p = sampleFree(rng, cfg, [...avoid, ...starts.map((s) => ({ ...s, r: 0.12 }))], 0);
      starts.push(p);
      const blk = addBlock(world, cfg, rng, p);
      blocks.push(blk.body); blockColliders.push(blk.collider);
    }
    const fixtures = cfg.zonesXZ.flatMap(([x, z]) => addTray(world, cfg.tray, { x, z }));
    const d = addDistractors(world, cfg, shiftRng, [...cfg.zonesXZ.map(([x, z]) => ({ x, z, r: 0.11 })), ...starts.map((s) => ({ ...s, r: 0.06 })), { x: 0, z: 0, r: 0.1 }]);
    const h: PlayState = {
      arm, table, blocks, blockColliders, fixtures, distractors: d.colliders, distractorColors: d.colors,
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
    const zones = zoneOfBlocks(world, h, cfg);
    let reach = 0, nearest = Infinity, grasp = 0;
    for (let b = 0; b < NUM_BLOCKS; b++) {
      if (isGrasped(world, h, b)) grasp = 1;
      if (zones[b]! >= 0) continue;
      const p = blockPos(world, h, b);
      nearest = Math.min(nearest, Math.hypot(g.x - p.x, g.y - p.y, g.z - p.z));
    }
    if (Number.isFinite(nearest)) reach = -nearest;
    const s = sumNearestZoneDistM(world, h, cfg.zonesXZ);
    return {
      reach, grasp, progress: h.prevSumM - s,
      place: zones.filter((z) => z >= 0).length,
      actionRate: actionRate(h, action),
    };
  },

  ...twoBlockPlayOutcome(zoneOfBlocks),

  render(world, h, cfg) {
    const z = zoneOfBlocks(world, h, cfg);
    return {
      overlays: cfg.zonesXZ.map(([x, zz], i) => ({ kind: 'zone' as const, id: `zone${i}`, center: [x, 0.001, zz] as [number, number, number], halfExtentsM: [cfg.tray.innerHalfM, cfg.tray.innerHalfM] as [number, number], color: PLAY_ZONE_COLORS[i % PLAY_ZONE_COLORS.length]! })),
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
        const first = pickPlacePlan(cfg, { block: firstBlock, place: zone(firstZone), carryYM: cfg.expertCarryYM, gripSteps: 6, offset: 0 });
        const second = pickPlacePlan(cfg, { block: secondBlock, place: zone(secondZone), carryYM: cfg.expertCarryYM, gripSteps: 6, offset: first.length });
        follower = new WaypointFollower([...first, ...second]);
      },
      act: (world, h) => follower.act(world, h, cfg),
      labels: () => ({ ...labels }),
    };
  },
});
