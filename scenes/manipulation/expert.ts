/**
 * Scripted-expert machinery: a Cartesian waypoint follower over the top-down IK, and the pick-and-place primitive.
 *
 * Each control step the follower moves a commanded grasp-point position towards the current waypoint's target at
 * most `speedMps` × ctrlDt, solves the top-down IK for it and emits joint targets + the waypoint's gripper command.
 * A waypoint ends when the measured grasp point is within `tolM` of its target (after `minSteps`), or after
 * `maxSteps`. Targets are functions of the live world, so the expert tracks objects as they move.
 */
import type { Vec3 } from '../../sim/math/vec.ts';
import type { World } from '../../sim/physics/index.ts';
import { commandToAction, graspPoint } from './arm.ts';
import { blockPos, isGrasped, type ManipConfig, type ManipState } from './common.ts';

export interface Waypoint {
  name: string;
  target(world: World, h: ManipState): Vec3;
  /** Gripper command (−1 open … +1 closed). */
  grip: number;
  tolM: number;
  minSteps?: number;
  maxSteps: number;
  /** Max speed of the commanded point, m/s (default the follower's). */
  speedMps?: number;
  /** Called when the waypoint ends; may return a waypoint index to jump to (retry logic). */
  onEnd?(world: World, h: ManipState, reached: boolean): number | void;
  /** Called every step while active; may return a waypoint index to jump to (abort logic). */
  check?(world: World, h: ManipState): number | void;
}

export class WaypointFollower {
  private cmd: Vec3 | null = null;
  index = 0;
  private steps = 0;

  /**
   * `anchor` — where each step's commanded point starts from: 'command' = the previous commanded point (a smooth,
   * rate-limited reference; the follower's hidden state), 'measured' = the measured grasp point, so the action is a
   * function of the observable state (a Markovian expert: learners can imitate it from observations without having to
   * infer the follower's hidden reference from the arm's motion). `measuredGain` scales the step in 'measured' mode to
   * make up for the PD lag.
   */
  constructor(public plan: Waypoint[], private readonly speedMps = 0.4, private readonly anchor: 'command' | 'measured' = 'command', private readonly measuredGain = 2) {}

  get done(): boolean { return this.index >= this.plan.length; }
  get phase(): string { return this.plan[this.index]?.name ?? 'done'; }

  /** Replace the remaining plan (keeps the commanded point, so motion stays smooth). */
  setPlan(plan: Waypoint[]): void { this.plan = plan; this.index = 0; this.steps = 0; }

  act(world: World, h: ManipState, cfg: ManipConfig): Float32Array {
    const g = graspPoint(world, h.arm, cfg.arm);
    if (!this.cmd || this.anchor === 'measured') this.cmd = { ...g };
    let wp = this.plan[this.index];
    if (wp?.check) {
      const jump = wp.check(world, h);
      if (typeof jump === 'number') { this.index = jump; this.steps = 0; wp = this.plan[this.index]; }
    }
    if (wp) {
      const t = wp.target(world, h);
      this.steps++;
      const err = Math.hypot(t.x - g.x, t.y - g.y, t.z - g.z);
      const reached = err <= wp.tolM;
      if ((reached && this.steps >= (wp.minSteps ?? 0)) || this.steps >= wp.maxSteps) {
        const jump = wp.onEnd?.(world, h, reached);
        this.index = typeof jump === 'number' ? jump : this.index + 1;
        this.steps = 0;
        wp = this.plan[this.index];
      }
    }
    const grip = wp?.grip ?? this.lastGrip;
    this.lastGrip = grip;
    if (wp) {
      const t = wp.target(world, h);
      const step = (wp.speedMps ?? this.speedMps) * cfg.ctrlDtSec * (this.anchor === 'measured' ? this.measuredGain : 1);
      const dx = t.x - this.cmd.x, dy = t.y - this.cmd.y, dz = t.z - this.cmd.z;
      const d = Math.hypot(dx, dy, dz);
      const k = d > step ? step / d : 1;
      this.cmd = { x: this.cmd.x + dx * k, y: this.cmd.y + dy * k, z: this.cmd.z + dz * k };
    }
    return commandToAction(cfg.arm, this.cmd, grip);
  }

  private lastGrip = -1;
}

export interface PickPlaceOpts {
  /** Block index in h.blocks. */
  block: number;
  /** Where to put the block centre (x, z). */
  place(world: World, h: ManipState): { x: number; z: number };
  /** Height of the grasp point while moving, metres. */
  carryYM: number;
  /** Steps to hold while closing/opening the gripper. */
  gripSteps: number;
  /** Index offset of this primitive in the full plan (for retry jumps). */
  offset: number;
}

/**
 * Pick block → carry → lower → release → retreat. If the block is not lifted after the lift phase (missed grasp),
 * jump back to the approach.
 */
export function pickPlacePlan(cfg: ManipConfig, o: PickPlaceOpts): Waypoint[] {
  const bh = cfg.blockHalfM;
  const above = (world: World, h: ManipState): Vec3 => { const b = blockPos(world, h, o.block); return { x: b.x, y: o.carryYM, z: b.z }; };
  let lockXZ: { x: number; z: number } | null = null;
  // Where the block sits in the hand (grasp point − block centre, horizontal): the expert aims the grasp point so the
  // *block* lands on the place target even when it was grasped off-centre. Frozen from the release on.
  let heldOffset = { x: 0, z: 0 };
  let lockOffset = false;
  const placeTarget = (world: World, h: ManipState, y: number): Vec3 => {
    const p = o.place(world, h);
    if (!lockOffset) {
      const b = blockPos(world, h, o.block), g = graspPoint(world, h.arm, cfg.arm);
      heldOffset = isGrasped(world, h, o.block) ? { x: g.x - b.x, z: g.z - b.z } : { x: 0, z: 0 };
    }
    return { x: p.x + heldOffset.x, y, z: p.z + heldOffset.z };
  };
  const plan: Waypoint[] = [
    { name: 'approach', target: above, grip: -1, tolM: 0.02, maxSteps: 80, onEnd: () => { lockXZ = null; lockOffset = false; } },
    {
      name: 'descend', grip: -1, tolM: 0.008, maxSteps: 50, speedMps: 0.3,
      target: (world, h) => { const b = blockPos(world, h, o.block); return { x: b.x, y: bh + 0.002, z: b.z }; },
      onEnd: (world, h) => { const b = blockPos(world, h, o.block); lockXZ = { x: b.x, z: b.z }; },
    },
    {
      name: 'close', grip: 1, tolM: 1, minSteps: o.gripSteps, maxSteps: o.gripSteps,
      target: (world, h) => { const b = lockXZ ?? blockPos(world, h, o.block); return { x: b.x, y: bh + 0.002, z: b.z }; },
    },
    {
      name: 'lift', grip: 1, tolM: 0.02, maxSteps: 40, speedMps: 0.3,
      target: () => ({ x: lockXZ!.x, y: o.carryYM, z: lockXZ!.z }),
      onEnd: (world, h) => {
        const b = blockPos(world, h, o.block);
        if (b.y < bh + 0.03 || !isGrasped(world, h, o.block)) return o.offset; // missed: retry from the approach
      },
    },
    { name: 'carry', grip: 1, tolM: 0.015, maxSteps: 80, target: (world, h) => placeTarget(world, h, o.carryYM) },
    { name: 'lower', grip: 1, tolM: 0.01, maxSteps: 40, speedMps: 0.25, target: (world, h) => placeTarget(world, h, bh + 0.012), onEnd: () => { heldOffset = { ...heldOffset }; lockOffset = true; } },
    { name: 'release', grip: -1, tolM: 1, minSteps: o.gripSteps, maxSteps: o.gripSteps, target: (world, h) => placeTarget(world, h, bh + 0.012) },
    { name: 'retreat', grip: -1, tolM: 0.03, maxSteps: 30, target: (world, h) => placeTarget(world, h, o.carryYM), onEnd: () => { lockOffset = false; } },
  ];
  return plan;
}

export interface PushOpts {
  /** Block index in h.blocks. */
  block: number;
  /** Where the block centre should go (x, z). */
  goal(world: World, h: ManipState): { x: number; z: number };
  /** Grasp-point height while pushing (the closed fingers reach 2 cm below it), metres. */
  pushYM: number;
  /** Pushing speed, m/s. */
  pushSpeedMps: number;
  /** Hover height for approaches and re-approaches, metres. */
  hoverYM: number;
  /** The push ends (→ retreat, then the next primitive) once the block centre is this close to the goal; unset = push
   * until the episode ends. */
  doneTolM?: number;
  /** Index offset of this primitive in the full plan (for its jumps). */
  offset: number;
}

/**
 * Push block → goal with the closed fingers: hover behind the block (opposite the goal), descend, push along the
 * block→goal line re-aiming every step; if the block slips sideways off the pusher, lift and re-approach. With
 * `doneTolM`, a finished push retreats to the hover height and the plan continues after this primitive.
 */
export function pushPlan(cfg: ManipConfig, o: PushOpts): Waypoint[] {
  const preM = cfg.blockHalfM * Math.SQRT2 + 0.035;
  const dir = (world: World, h: ManipState): { b: Vec3; ux: number; uz: number; d: number } => {
    const b = blockPos(world, h, o.block), g = o.goal(world, h);
    const dx = g.x - b.x, dz = g.z - b.z, d = Math.hypot(dx, dz) || 1e-9;
    return { b, ux: dx / d, uz: dz / d, d };
  };
  let pre: { x: number; z: number } | null = null;
  const prePoint = (world: World, h: ManipState) => {
    if (!pre) { const { b, ux, uz } = dir(world, h); pre = { x: b.x - ux * preM, z: b.z - uz * preM }; }
    return pre;
  };
  const LIFT = o.offset + 3, RETREAT = o.offset + 4;
  return [
    { name: 'hover', grip: 1, tolM: 0.02, maxSteps: 60, target: (w, h) => { const p = prePoint(w, h); return { x: p.x, y: o.hoverYM, z: p.z }; } },
    { name: 'descend', grip: 1, tolM: 0.012, maxSteps: 40, speedMps: 0.3, target: (w, h) => { const p = prePoint(w, h); return { x: p.x, y: o.pushYM, z: p.z }; } },
    {
      name: 'push', grip: 1, tolM: 0, maxSteps: 400, speedMps: o.pushSpeedMps,
      target: (w, h) => {
        const { b, ux, uz, d } = dir(w, h);
        const lead = Math.min(0.03, d);
        return { x: b.x - ux * (cfg.blockHalfM + 0.01) + ux * lead, y: o.pushYM, z: b.z - uz * (cfg.blockHalfM + 0.01) + uz * lead };
      },
      check: (w, h) => {
        const { b, ux, uz, d } = dir(w, h);
        if (o.doneTolM !== undefined && d < o.doneTolM) return RETREAT;
        const g = graspPoint(w, h.arm, cfg.arm);
        const rx = b.x - g.x, rz = b.z - g.z;
        const along = rx * ux + rz * uz, lateral = Math.abs(rx * uz - rz * ux);
        if (lateral > 0.03 || along < 0 || along > preM + 0.03) { pre = null; return LIFT; }
      },
    },
    { name: 'lift', grip: 1, tolM: 0.02, maxSteps: 30, target: (w, h) => { const g = graspPoint(w, h.arm, cfg.arm); return { x: g.x, y: o.hoverYM, z: g.z }; }, onEnd: () => { pre = null; return o.offset; } },
    { name: 'retreat', grip: 1, tolM: 0.02, maxSteps: 30, target: (w, h) => { const g = graspPoint(w, h.arm, cfg.arm); return { x: g.x, y: o.hoverYM, z: g.z }; }, onEnd: () => { pre = null; } },
  ];
}
