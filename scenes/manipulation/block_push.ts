/**
 * manip/block_push — planar multimodal Block-Push (the task of BESO's Block-Push benchmark, after C-BeT's
 * `play-to-policy` / IBC's `BlockPushMultimodal`), sized for 2 CPU cores. The BESO study's task (experiments/beso).
 *
 * ```
 *   z = +0.15        [zone0]            [zone1]          two fixed target zones
 *   z = −0.05        ▣ block0           ▣ block1         two 4 cm blocks (start ± startJitterM, random yaw)
 *   z = −0.20                   ● pusher                 the end effector (start ± pusherJitterM)
 *            x = −0.15   −0.10         0.10   0.15
 * ```
 * - **Planar, as Block-Push**: the end effector is a pusher at a fixed push height (a kinematic vertical capsule —
 *   the arm of Block-Push is IK-driven to its commanded target; here the pusher follows the commanded target at
 *   ≤ `pusherSpeedMps`, so the arm's dynamics do not enter). No gripper.
 * - **Action (2, [-1, 1])**: (Δx, Δz) of the commanded target, × `maxDeltaM` (3.5 cm) per control step; the
 *   commanded target is clipped to the workspace box `workspaceM`. Control 10 Hz (`ctrlDtSec` 0.1).
 * - **Observation**: `observation.state` (4) = pusher x, z and commanded target x, z (m); `observation.object` (4) =
 *   block0 x, z, block1 x, z (m; a pushed cube's yaw is left out, a cylinder pusher does not need it);
 *   `observation.goal` (4) = the zone centres of this episode's assignment, in the layout of `observation.object`
 *   (the "zone-centre goal" condition; the BESO study conditions on the expert's own final block positions instead).
 * - **Assignment**: the scene draws which zone each block belongs to (straight: block0→zone0, block1→zone1, or
 *   crossed) from the episode RNG (`assignment` fixes it). The scripted expert draws which block goes first from its
 *   own RNG: 4 modes (assignment × order), balanced.
 * - **Outcomes** (metrics, per step; an episode summary keeps the last step's): `result` = (number of blocks that ever
 *   entered their assigned zone) / 2 ∈ {0, 0.5, 1} (the paper's Result); `reward` = (blocks that ever entered any
 *   zone) / 2 (tasks completed regardless of goal); `strict` = both blocks in their assigned zones now; `firstBlock`,
 *   `firstZone` = the first block to enter a zone and that zone (−1 = none yet). A block is in a zone when its centre
 *   is within `zoneTolM` of the zone centre. Success = strict (ends the episode when `terminateOnSuccess`) with
 *   `successTolM` (default `zoneTolM`; demonstrations use the expert's own `expertDoneTolM`, so a demo ends *at* the goal).
 * - **Expert** (`blockPushExpertAction`): planar and Markovian — the action is a function of the observation and the
 *   episode's plan (assignment, order) only: the active block is the first in order not within `expertDoneTolM` of
 *   its zone; the pusher goes to the pre-push point behind the block on the block→zone line (around any block in the
 *   way), then pushes through the block centre toward the zone, correcting sideways drift; both done → hold (0).
 */
import { ACTION, OBS_GOAL, OBS_OBJECT, OBS_STATE, defineScene, type SceneConfigBase } from '../../sim/core/index.ts';
import type { Observation } from '../../sim/core/features.ts';
import { addBody, addCollider, addGround, type World } from '../../sim/physics/index.ts';
import type { Rng } from '../../sim/math/rng.ts';
import { quatFromAxisAngle, rotate, rotateInv } from '../../sim/math/vec.ts';

export interface BlockPushConfig extends SceneConfigBase {
  /** Zone centres (x, z), metres. */
  zonesXZ: [number, number][];
  /** A block is in a zone when its centre is within this distance of the zone centre (metres). */
  zoneTolM: number;
  /** Strict success tolerance (both blocks within it of their assigned zones); ≤ 0 = zoneTolM. */
  successTolM: number;
  /** Nominal block starts (x, z), metres, and the uniform jitter of each coordinate (± metres). */
  startsXZ: [number, number][];
  startJitterM: number;
  /** Block yaw at start is uniform in ± this (radians). */
  yawJitterRad: number;
  /** Pusher start (x, z) and its jitter (± metres per coordinate). */
  pusherStartXZ: [number, number];
  pusherJitterM: number;
  /** Block half edge, mass and friction; table friction. */
  blockHalfM: number;
  blockMassKg: number;
  blockFriction: number;
  tableFriction: number;
  /** Pusher (vertical cylinder) radius and friction; push height of its centre above the table. */
  pusherRadiusM: number;
  pusherFriction: number;
  pushHeightM: number;
  /** |Δ| of the commanded target at |action| = 1, metres per control step. */
  maxDeltaM: number;
  /** Pusher speed limit while following the commanded target (m/s). */
  pusherSpeedMps: number;
  /** Commanded-target box [xMin, xMax, zMin, zMax], metres. */
  workspaceM: [number, number, number, number];
  /** Assignment: −1 = drawn per episode, 0 = straight (block i → zone i), 1 = crossed (block i → zone 1 − i). */
  assignment: number;
  /** Expert: a block counts as done within this distance of its zone centre (metres). */
  expertDoneTolM: number;
  /** Expert: pushing step per control step (metres). */
  expertPushStepM: number;
  /** Expert: first block −1 = drawn from its RNG, else fixed (probes). */
  expertFirstBlock: number;
}

export function defaultConfig(): BlockPushConfig {
  return {
    ctrlDtSec: 0.1,
    simDtSec: 0.01,
    maxSteps: 200,
    terminateOnSuccess: true,
    reward: { scales: { progress: 10, place: 1 } },
    zonesXZ: [[-0.15, 0.15], [0.15, 0.15]],
    zoneTolM: 0.05,
    successTolM: 0,
    startsXZ: [[-0.1, -0.05], [0.1, -0.05]],
    startJitterM: 0.02,
    yawJitterRad: Math.PI / 4,
    pusherStartXZ: [0, -0.2],
    pusherJitterM: 0.02,
    blockHalfM: 0.02,
    blockMassKg: 0.1,
    blockFriction: 0.5,
    tableFriction: 0.5,
    pusherRadiusM: 0.015,
    pusherFriction: 0.1,
    pushHeightM: 0.02,
    maxDeltaM: 0.035,
    pusherSpeedMps: 0.5,
    workspaceM: [-0.4, 0.4, -0.3, 0.35],
    assignment: -1,
    expertDoneTolM: 0.02,
    expertPushStepM: 0.02,
    expertFirstBlock: -1,
  };
}

export interface BlockPushState {
  blocks: number[];
  pusher: number;
  /** Commanded target and pusher position (x, z). */
  target: [number, number];
  pusherXZ: [number, number];
  /** Block positions (x, z) after the last step. */
  blockXZ: [number, number][];
  /** Zone index of each block's assignment. */
  zoneOf: number[];
  /** Bit b: block b ever entered its assigned zone / any zone. */
  everOwn: number;
  everAny: number;
  firstBlock: number;
  firstZone: number;
  /** Pusher speed of the current control step (m/s). */
  stepSpeed: number;
  /** Σ distance of each block to its assigned zone after the previous step (progress term). */
  prevDist: number;
}

const NB = 2;

function readState(world: World, h: BlockPushState, cfg: BlockPushConfig): void {
  const p = world.getRigidBody(h.pusher).translation();
  h.pusherXZ = [p.x, p.z];
  h.blockXZ = h.blocks.map((b) => { const t = world.getRigidBody(b).translation(); return [t.x, t.z] as [number, number]; });
  for (let b = 0; b < NB; b++) {
    const [x, z] = h.blockXZ[b]!;
    const zi = cfg.zonesXZ.findIndex(([zx, zz]) => Math.hypot(x - zx, z - zz) < cfg.zoneTolM);
    if (zi < 0) continue;
    if (!(h.everAny & (1 << b)) && h.firstBlock < 0) { h.firstBlock = b; h.firstZone = zi; }
    h.everAny |= 1 << b;
    if (zi === h.zoneOf[b]) h.everOwn |= 1 << b;
  }
}

const bits = (m: number) => (m & 1) + ((m >> 1) & 1);

function distToOwn(h: BlockPushState, cfg: BlockPushConfig, b: number): number {
  const [x, z] = h.blockXZ[b]!, [zx, zz] = cfg.zonesXZ[h.zoneOf[b]!]!;
  return Math.hypot(x - zx, z - zz);
}

function strict(h: BlockPushState, cfg: BlockPushConfig): boolean {
  const tol = cfg.successTolM > 0 ? cfg.successTolM : cfg.zoneTolM;
  return h.blocks.every((_, b) => distToOwn(h, cfg, b) < tol);
}

/** The goal vector of an assignment's zone centres, in the layout of `observation.object`. */
export function blockPushZoneGoal(cfg: BlockPushConfig, zoneOf: number[]): Float32Array {
  return Float32Array.from(zoneOf.flatMap((z) => cfg.zonesXZ[z]!));
}

/** The expert's plan: which zone each block goes to, and the pushing order. */
export interface BlockPushPlan { zoneOf: number[]; order: number[] }

/**
 * The expert's action for an observation (state = pusher x, z, target x, z; object = block0 x, z, block1 x, z) and
 * a plan. A pure function: the expert is Markovian given what the policy observes and the episode's plan.
 */
export function blockPushExpertAction(cfg: BlockPushConfig, obs: Observation, plan: BlockPushPlan): Float32Array {
  const s = obs[OBS_STATE]!, o = obs[OBS_OBJECT]!;
  const ee: [number, number] = [s[0]!, s[1]!], tgt: [number, number] = [s[2]!, s[3]!];
  const blocks: [number, number][] = [[o[0]!, o[1]!], [o[2]!, o[3]!]];
  const active = plan.order.find((b) => {
    const [zx, zz] = cfg.zonesXZ[plan.zoneOf[b]!]!;
    return Math.hypot(blocks[b]![0] - zx, blocks[b]![1] - zz) >= cfg.expertDoneTolM;
  });
  if (active === undefined) return Float32Array.of(0, 0);
  const c = blocks[active]!, g = cfg.zonesXZ[plan.zoneOf[active]!]!;
  const dist = Math.hypot(g[0] - c[0], g[1] - c[1]);
  const u = [(g[0] - c[0]) / dist, (g[1] - c[1]) / dist], n = [-u[1]!, u[0]!];
  const rel = [ee[0] - c[0], ee[1] - c[1]];
  const along = rel[0]! * u[0]! + rel[1]! * u[1]!, perp = rel[0]! * n[0]! + rel[1]! * n[1]!;
  const Rc = cfg.blockHalfM + cfg.pusherRadiusM;
  let dest: [number, number];
  if (along <= -Rc + 0.012 && along >= -Rc - 0.03 && Math.abs(perp) <= 0.012) {
    // push: through the block centre toward the zone, slowing near it; remove the sideways offset
    const step = Math.max(0.003, Math.min(cfg.expertPushStepM, dist - 0.004));
    const fwd = Math.max(0, -Rc + 0.004 - along) + step; // close any gap to contact, then advance
    dest = [ee[0] + u[0]! * fwd - n[0]! * perp, ee[1] + u[1]! * fwd - n[1]! * perp];
  } else {
    // approach the pre-push point behind the block, going around any block on the way
    const P: [number, number] = [c[0] - u[0]! * (Rc + 0.02), c[1] - u[1]! * (Rc + 0.02)];
    dest = P;
    const clear = cfg.blockHalfM * Math.SQRT2 + cfg.pusherRadiusM + 0.008;
    const dx = P[0] - ee[0], dz = P[1] - ee[1], L = Math.hypot(dx, dz);
    if (L > 1e-6) {
      const d = [dx / L, dz / L], m = [-d[1]!, d[0]!];
      let worst = -1, worstT = Infinity;
      blocks.forEach((b, k) => {
        const t = (b[0] - ee[0]) * d[0]! + (b[1] - ee[1]) * d[1]!;
        if (t <= -clear || t >= L + clear) return;
        const off = Math.abs((b[0] - ee[0]) * m[0]! + (b[1] - ee[1]) * m[1]!);
        if (off < clear && t < worstT && Math.hypot(P[0] - b[0], P[1] - b[1]) > 0.5 * clear) { worst = k; worstT = t; }
      });
      if (worst >= 0) {
        // orbit the block in the way, turning the shorter way round toward P (ties: counter-clockwise)
        const b = blocks[worst]!, rx = ee[0] - b[0], rz = ee[1] - b[1], r = Math.max(1e-6, Math.hypot(rx, rz));
        let dphi = Math.atan2(P[1] - b[1], P[0] - b[0]) - Math.atan2(rz, rx);
        while (dphi <= -Math.PI) dphi += 2 * Math.PI;
        while (dphi > Math.PI) dphi -= 2 * Math.PI;
        const th = Math.sign(dphi || 1) * Math.min(0.7, Math.abs(dphi)), cs = Math.cos(th), sn = Math.sin(th), R = clear + 0.015;
        dest = [b[0] + (cs * rx - sn * rz) / r * R, b[1] + (sn * rx + cs * rz) / r * R];
      }
    }
  }
  // Δ of the commanded target toward dest, scaled (not clipped per axis) to |Δ|∞ ≤ maxDeltaM
  let ax = (dest[0] - tgt[0]) / cfg.maxDeltaM, az = (dest[1] - tgt[1]) / cfg.maxDeltaM;
  const big = Math.max(1, Math.abs(ax), Math.abs(az));
  ax /= big; az /= big;
  return Float32Array.of(ax, az);
}

/**
 * Quasi-static pushing: a block the pusher (a disc of radius pusherRadiusM at (px, pz)) penetrates is moved out along
 * the contact normal (closest point of its yawed square footprint), with no velocity (it stops when the pusher does).
 * Block–block contacts, table friction and tipping stay Rapier's.
 */
function pushBlocks(world: World, h: BlockPushState, cfg: BlockPushConfig, px: number, pz: number): void {
  const hw = cfg.blockHalfM, r = cfg.pusherRadiusM;
  for (const handle of h.blocks) {
    const body = world.getRigidBody(handle), c = body.translation(), q = body.rotation();
    const l = rotateInv(q, { x: px - c.x, y: 0, z: pz - c.z });
    const cx = Math.max(-hw, Math.min(hw, l.x)), cz = Math.max(-hw, Math.min(hw, l.z));
    let dx = l.x - cx, dz = l.z - cz, d = Math.hypot(dx, dz), pen: number;
    if (d > 1e-9) {
      if (d >= r) continue;
      pen = r - d; dx /= d; dz /= d;
    } else {
      // the pusher centre is inside the footprint: out along the nearest face
      const ex = hw - Math.abs(l.x), ez = hw - Math.abs(l.z);
      if (ex < ez) { dx = Math.sign(l.x) || 1; dz = 0; pen = ex + r; } else { dx = 0; dz = Math.sign(l.z) || 1; pen = ez + r; }
    }
    const n = rotate(q, { x: dx, y: 0, z: dz });
    body.setTranslation({ x: c.x - n.x * pen, y: c.y, z: c.z - n.z * pen }, true);
    const v = body.linvel();
    body.setLinvel({ x: 0, y: v.y, z: 0 }, true);
  }
}

export const blockPush = defineScene<BlockPushConfig, BlockPushState>({
  id: 'manip/block_push',
  family: 'manipulation',
  description: 'Planar multimodal Block-Push: a pusher, two blocks, two zones, Δ-target actions at 10 Hz (BESO study).',
  defaultConfig,

  features: () => ({
    observation: {
      [OBS_STATE]: { kind: 'state', shape: [4], dtype: 'float32', names: ['pusher_x', 'pusher_z', 'target_x', 'target_z'], units: 'm' },
      [OBS_OBJECT]: { kind: 'object', shape: [4], dtype: 'float32', names: ['block0_x', 'block0_z', 'block1_x', 'block1_z'], units: 'm' },
      [OBS_GOAL]: { kind: 'goal', shape: [4], dtype: 'float32', names: ['goal0_x', 'goal0_z', 'goal1_x', 'goal1_z'], units: 'm' },
    },
    action: { [ACTION]: { kind: 'action', shape: [2], dtype: 'float32', low: -1, high: 1, names: ['dx', 'dz'], units: '× maxDeltaM per step (commanded target)' } },
  }),

  build(world, cfg, rng: Rng) {
    if (cfg.zonesXZ.length !== 2 || cfg.startsXZ.length !== 2) throw new Error('manip/block_push: needs two zones and two block starts');
    addGround(world, { friction: cfg.tableFriction });
    const blocks: number[] = [];
    for (let b = 0; b < NB; b++) {
      const [x0, z0] = cfg.startsXZ[b]!;
      const x = x0 + rng.uniform(-cfg.startJitterM, cfg.startJitterM), z = z0 + rng.uniform(-cfg.startJitterM, cfg.startJitterM);
      const yaw = rng.uniform(-cfg.yawJitterRad, cfg.yawJitterRad);
      const body = addBody(world, { p: { x, y: cfg.blockHalfM, z }, q: quatFromAxisAngle({ x: 0, y: 1, z: 0 }, yaw), angularDamping: 2, linearDamping: 2 });
      addCollider(world, body, { kind: 'box', halfExtentsM: [cfg.blockHalfM, cfg.blockHalfM, cfg.blockHalfM] }, { massKg: cfg.blockMassKg, friction: cfg.blockFriction });
      blocks.push(body.handle);
    }
    const px = cfg.pusherStartXZ[0] + rng.uniform(-cfg.pusherJitterM, cfg.pusherJitterM), pz = cfg.pusherStartXZ[1] + rng.uniform(-cfg.pusherJitterM, cfg.pusherJitterM);
    const pusher = addBody(world, { type: 'kinematic', p: { x: px, y: cfg.pushHeightM, z: pz } });
    // The pusher's collider collides with nothing (empty filter): its contact with the blocks is resolved in JS,
    // quasi-statically (see pushBlocks). Rapier's contacts of a moving pusher with a yawed block kept stale manifolds
    // (blocks were dragged along by a pusher 7 cm away, with kinematic and dynamic pushers alike).
    addCollider(world, pusher, { kind: 'sphere', radiusM: cfg.pusherRadiusM }, { friction: cfg.pusherFriction, groups: 0x0004_0000 });
    const assign = cfg.assignment >= 0 ? cfg.assignment : rng.int(2);
    const zoneOf = assign === 0 ? [0, 1] : [1, 0];
    const h: BlockPushState = {
      blocks, pusher: pusher.handle, target: [px, pz], pusherXZ: [px, pz], blockXZ: [], zoneOf,
      everOwn: 0, everAny: 0, firstBlock: -1, firstZone: -1, prevDist: 0, stepSpeed: 0,
    };
    readState(world, h, cfg);
    h.prevDist = distToOwn(h, cfg, 0) + distToOwn(h, cfg, 1);
    return h;
  },

  applyAction(_world, h, action, cfg) {
    const p0 = h.pusherXZ;
    h.prevDist = distToOwn(h, cfg, 0) + distToOwn(h, cfg, 1);
    const [x0, x1, z0, z1] = cfg.workspaceM;
    h.target = [
      Math.min(x1, Math.max(x0, h.target[0] + action[0]! * cfg.maxDeltaM)),
      Math.min(z1, Math.max(z0, h.target[1] + action[1]! * cfg.maxDeltaM)),
    ];
    h.stepSpeed = Math.max(0.02, Math.hypot(h.target[0] - p0[0], h.target[1] - p0[1]) / cfg.ctrlDtSec);
  },

  beforeSubstep(world, h, cfg) {
    // constant speed over the control period (|Δ| / ctrlDt, at most pusherSpeedMps): no impulsive kicks
    const b = world.getRigidBody(h.pusher), p = b.translation();
    const dx = h.target[0] - p.x, dz = h.target[1] - p.z, d = Math.hypot(dx, dz);
    const max = Math.min(cfg.pusherSpeedMps, h.stepSpeed) * cfg.simDtSec;
    const k = d > max ? max / d : 1;
    const nx = p.x + dx * k, nz = p.z + dz * k;
    b.setNextKinematicTranslation({ x: nx, y: p.y, z: nz });
    pushBlocks(world, h, cfg, nx, nz);
  },

  afterStep: (world, h, cfg) => readState(world, h, cfg),

  observe(_world, h, cfg) {
    return {
      [OBS_STATE]: Float32Array.of(h.pusherXZ[0], h.pusherXZ[1], h.target[0], h.target[1]),
      [OBS_OBJECT]: Float32Array.of(h.blockXZ[0]![0], h.blockXZ[0]![1], h.blockXZ[1]![0], h.blockXZ[1]![1]),
      [OBS_GOAL]: blockPushZoneGoal(cfg, h.zoneOf),
    };
  },

  rewardTerms(_world, h, _action, cfg) {
    let place = 0;
    for (let b = 0; b < NB; b++) if (distToOwn(h, cfg, b) < cfg.zoneTolM) place++;
    return { progress: h.prevDist - (distToOwn(h, cfg, 0) + distToOwn(h, cfg, 1)), place };
  },

  isSuccess: (_world, h, cfg) => strict(h, cfg),
  terminalReason: (_world, h, cfg) => {
    const [x0, x1, z0, z1] = cfg.workspaceM, m = 0.15;
    return h.blockXZ.some(([x, z]) => x < x0 - m || x > x1 + m || z < z0 - m || z > z1 + m) ? 'block-off-table' : null;
  },
  metrics: (_world, h, cfg) => ({
    result: bits(h.everOwn) / 2, reward: bits(h.everAny) / 2, strict: strict(h, cfg) ? 1 : 0,
    firstBlock: h.firstBlock, firstZone: h.firstZone, assignment: h.zoneOf[0] === 0 ? 0 : 1,
  }),

  render(_world, h, cfg) {
    return {
      overlays: cfg.zonesXZ.map(([x, z], i) => ({
        kind: 'zone' as const, id: `zone${i}`, center: [x, 0.001, z] as [number, number, number],
        halfExtentsM: [cfg.zoneTolM, cfg.zoneTolM] as [number, number], color: ['#d9534f55', '#3b7dd855'][h.zoneOf.indexOf(i)] ?? '#8899aa',
      })),
      hud: { result: bits(h.everOwn) / 2, reward: bits(h.everAny) / 2, firstBlock: h.firstBlock },
    };
  },
  style: (h, handle) => {
    // collider handles in build order: ground, block0, block1, pusher
    if (handle === 0) return { name: 'table', color: '#9aa0a6' };
    if (handle === 1) return { name: 'block0', color: '#d9534f' };
    if (handle === 2) return { name: 'block1', color: '#3b7dd8' };
    return { name: 'pusher', color: '#444444' };
  },

  expert(cfg) {
    let plan: BlockPushPlan = { zoneOf: [0, 1], order: [0, 1] };
    return {
      reset(_world, h, _cfg, rng) {
        const first = cfg.expertFirstBlock >= 0 ? cfg.expertFirstBlock : rng.int(2);
        plan = { zoneOf: [...h.zoneOf], order: [first, 1 - first] };
      },
      act(world, h) {
        return blockPushExpertAction(cfg, { [OBS_STATE]: Float32Array.of(h.pusherXZ[0], h.pusherXZ[1], h.target[0], h.target[1]), [OBS_OBJECT]: Float32Array.of(h.blockXZ[0]![0], h.blockXZ[0]![1], h.blockXZ[1]![0], h.blockXZ[1]![1]) }, plan);
      },
      labels: () => ({ firstBlock: plan.order[0]!, firstZone: plan.zoneOf[plan.order[0]!]!, assignment: plan.zoneOf[0] === 0 ? 0 : 1, mode: 2 * plan.order[0]! + plan.zoneOf[plan.order[0]!]! }),
    };
  },
});
