/**
 * robot/reach — bring your own robot: any URDF (`--set robot.urdf=my_arm.urdf`) becomes a Rapier robot
 * (sim/robot/build.ts) whose end-effector link must reach a target point.
 *
 * The target is the end-effector position of a random joint configuration within the limits (so it is reachable)
 * that lies at least `targetMinHeightM` above the ground; the scripted expert moves its command to that configuration
 * at the joints' URDF velocity limits.
 *
 * Observation `observation.state` (2n + 3): joint positions (rad / m; named by the URDF joint names), joint rates
 * (`<joint>_vel`, rad/s / m/s), target x, y, z (m, world). With `depth.enabled`, also `observation.depth` from a fixed
 * camera. Action (n, [-1, 1]): joint-position targets of the n actuated joints (movable, not mimic, URDF order),
 * −1 = lower limit … +1 = upper limit (continuous joints: −π … π), tracked by PD motors.
 *
 * Meshes: collision meshes become convex hulls; the viewer draws each link's `<visual>` geometry (meshes included,
 * sent in the RenderScene) and falls back to its collision shapes when it has none.
 */
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ACTION, OBS_DEPTH, OBS_STATE, defineScene, type Features, type RenderShape, type SceneConfigBase } from '../../sim/core/index.ts';
import { addGround, refreshSceneQueries, type World } from '../../sim/physics/index.ts';
import type { Rng } from '../../sim/math/rng.ts';
import { DepthCamera, depthFeature } from '../../sim/sensors/depth_camera.ts';
import {
  buildRobot, expandJoints, forwardKinematics, linkPosition, loadRobot, readJoints, scaledPoints, setActuatedTargets,
  type Robot, type RobotBuildOptions, type RobotHandles,
} from '../../sim/robot/build.ts';
import { resolveMeshPath } from '../../sim/robot/mesh.ts';
import { lookAtQuat } from '../manipulation/common.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
/** Robots shipped with Stride (also the test robots): `--set robot.urdf=<name>`. */
export const SHIPPED_ROBOTS = ['planar_2link', 'arm6_gripper', 'slider_spinner'] as const;

/** Collision groups: robot links touch the world (ground bit 0) and are seen by rays, never each other. */
const G_GROUND = 1 << 0, G_ROBOT = 1 << 1;
const ROBOT_GROUPS = (G_ROBOT << 16) | G_GROUND;

export interface RobotReachConfig extends SceneConfigBase {
  robot: {
    /** URDF file (path; relative to the working directory) or the name of a shipped robot (planar_2link, arm6_gripper, slider_spinner). */
    urdf: string;
    /** Extra folder searched for `package://` and relative mesh files ('' = none). */
    meshDir: string;
    /** Weld the root link to the world (false: a floating base, the root is a free body under gravity). */
    fixedBase: boolean;
    /** Up axis of the URDF: 'z' (ROS convention) or 'y'. */
    upAxis: 'z' | 'y';
    /** World position of the root link, metres. */
    basePositionM: [number, number, number];
    /** The robot's controller compensates the weight of its links (gravity scale 0 on every non-root link). */
    gravityCompensation: boolean;
    /** Default stiffness = effort / saturationError: the PD motor saturates at this error (rad or m). */
    saturationError: number;
    /** Default damping = dampingFactor · effort / velocity (+ URDF `<dynamics damping>`). */
    dampingFactor: number;
    /** Gain table: per-joint { stiffness, damping } overriding the defaults, e.g. --set 'robot.gains={"elbow":{"stiffness":50,"damping":2}}'. */
    gains: Record<string, { stiffness: number; damping: number }>;
    /** Effort (N·m) and velocity (rad/s) for continuous joints without `<limit>`. */
    continuousEffort: number;
    continuousVelocity: number;
    /** Mass of massless links on fixed joints (tool frames), kg. */
    minLinkMassKg: number;
    /** Floor of principal moments of inertia, kg·m². */
    minInertiaKgM2: number;
    /** Solver iterations of the world (Rapier default 4); chains track better with more. */
    solverIterations: number;
    /** Link whose origin must reach the target ('' = a link named tool0/tcp/ee/end_effector…, else the deepest link). */
    endEffectorLink: string;
  };
  /** Start pose: each actuated joint at mid-range (0 where 0 is inside the limits) + uniform noise of ± this fraction of its half-range. */
  startNoiseFrac: number;
  /** Targets are end-effector positions at least this high above the ground, metres. */
  targetMinHeightM: number;
  /** Success when the end-effector link origin is within this distance of the target, metres. */
  goalToleranceM: number;
  depth: {
    /** Add `observation.depth` (a fixed camera looking at the robot). */
    enabled: boolean;
    widthPx: number;
    heightPx: number;
    fovDeg: number;
    maxRangeM: number;
    noiseStdM: number;
    /** Camera position and look-at point, metres (world). */
    eyeM: [number, number, number];
    lookAtM: [number, number, number];
  };
}

export function defaultConfig(): RobotReachConfig {
  return {
    ctrlDtSec: 0.05,
    simDtSec: 0.01,
    maxSteps: 100,
    terminateOnSuccess: true,
    reward: { scales: { progress: 10, reach: 1, action_rate: 0.01 } },
    robot: {
      urdf: 'arm6_gripper',
      meshDir: '',
      fixedBase: true,
      upAxis: 'z',
      basePositionM: [0, 0, 0],
      gravityCompensation: true,
      saturationError: 0.25,
      dampingFactor: 0.5,
      gains: {},
      continuousEffort: 20,
      continuousVelocity: 3,
      minLinkMassKg: 0.01,
      minInertiaKgM2: 1e-6,
      solverIterations: 8,
      endEffectorLink: '',
    },
    startNoiseFrac: 0.1,
    targetMinHeightM: 0.05,
    goalToleranceM: 0.03,
    depth: { enabled: false, widthPx: 32, heightPx: 24, fovDeg: 60, maxRangeM: 4, noiseStdM: 0, eyeM: [1.2, 0.9, 1.2], lookAtM: [0, 0.3, 0] },
  };
}

/** The URDF file a config names: a shipped robot's name, else a path. */
export function urdfPath(spec: string): string {
  if ((SHIPPED_ROBOTS as readonly string[]).includes(spec)) return join(HERE, 'urdf', `${spec}.urdf`);
  return resolve(spec);
}

/** Build options of the sim/robot builder from the scene config. */
export function buildOptions(cfg: RobotReachConfig): RobotBuildOptions {
  const r = cfg.robot;
  return {
    fixedBase: r.fixedBase, upAxis: r.upAxis, basePositionM: r.basePositionM, gravityCompensation: r.gravityCompensation,
    saturationError: r.saturationError, dampingFactor: r.dampingFactor, gains: r.gains,
    continuousDefaults: { effort: r.continuousEffort, velocity: r.continuousVelocity },
    minLinkMassKg: r.minLinkMassKg, minInertiaKgM2: r.minInertiaKgM2, collisionGroups: ROBOT_GROUPS,
    meshDirs: r.meshDir ? [resolve(r.meshDir)] : [],
  };
}

const byCfg = new WeakMap<object, Robot>();
/** Robots by `h.robotKey`, for `style()` (which sees only the scene state). */
const byKey = new Map<string, Robot>();

/** The robot a config names (loaded and checked once per config object). */
export function robotOf(cfg: RobotReachConfig): Robot {
  let r = byCfg.get(cfg.robot);
  if (!r) {
    if (!(cfg.robot.upAxis === 'z' || cfg.robot.upAxis === 'y')) throw new Error(`config: robot.upAxis must be 'z' or 'y', got '${cfg.robot.upAxis}'`);
    r = loadRobot(urdfPath(cfg.robot.urdf), buildOptions(cfg));
    byCfg.set(cfg.robot, r);
  }
  return r;
}

/** The end-effector link index: the named one, else a tool-frame name, else the deepest link (first in URDF order). */
export function endEffectorLink(robot: Robot, name: string): number {
  const links = robot.model.links;
  if (name) {
    const i = links.findIndex((l) => l.name === name);
    if (i < 0) throw new Error(`config: robot.endEffectorLink '${name}' is not a link of ${robot.model.file} (links: ${links.map((l) => l.name).join(', ')})`);
    return i;
  }
  const tool = links.findIndex((l) => /^(tool0|tcp|ee|ee_link|end_effector|end_effector_link|tool|flange)$/i.test(l.name));
  if (tool >= 0) return tool;
  const depth = (li: number): number => { let d = 0; for (let j = robot.links[li]!.parentJoint; j >= 0; j = robot.links[robot.joints[j]!.parentLink]!.parentJoint) d++; return d; };
  let best = 0;
  for (let i = 1; i < links.length; i++) if (depth(i) > depth(best)) best = i;
  return best;
}

export interface RobotReachState {
  /** Key of the robot in this process's cache: a hash of the URDF text and the build options (no paths). */
  robotKey: string;
  handles: RobotHandles;
  ground: number;
  eeLink: number;
  /** The joint configuration whose end-effector position is the target (the expert's answer), actuated joints. */
  targetQ: number[];
  target: [number, number, number];
  /** End-effector position and joint state after the last step. */
  ee: [number, number, number];
  q: number[];
  qd: number[];
  prevDistM: number;
  /** The action of the last step and Σ (a − a_prev)² of it (the action_rate term). */
  prevAction: number[];
  actionRate: number;
}

const actionToTargets = (robot: Robot, a: ArrayLike<number>): number[] =>
  robot.actuated.map((ji, k) => { const j = robot.joints[ji]!; return j.rangeLo + ((a[k]! + 1) / 2) * (j.rangeHi - j.rangeLo); });
const targetsToAction = (robot: Robot, q: readonly number[]): Float32Array =>
  Float32Array.from(robot.actuated, (ji, k) => { const j = robot.joints[ji]!; return Math.max(-1, Math.min(1, ((q[k]! - j.rangeLo) / (j.rangeHi - j.rangeLo)) * 2 - 1)); });

function dist(h: RobotReachState): number {
  return Math.hypot(h.ee[0] - h.target[0], h.ee[1] - h.target[1], h.ee[2] - h.target[2]);
}

function readState(world: World, robot: Robot, h: RobotReachState): void {
  const { q, qd } = readJoints(world, robot, h.handles);
  const e = linkPosition(world, h.handles, h.eeLink);
  h.q = q; h.qd = qd; h.ee = [e.x, e.y, e.z];
}

const cameras = new Map<string, DepthCamera>();
function cameraOf(cfg: RobotReachConfig): DepthCamera {
  const d = cfg.depth, key = JSON.stringify([d.widthPx, d.heightPx, d.fovDeg, d.maxRangeM, d.noiseStdM]);
  let c = cameras.get(key);
  if (!c) cameras.set(key, (c = new DepthCamera({ widthPx: d.widthPx, heightPx: d.heightPx, fovDeg: d.fovDeg, maxRangeM: d.maxRangeM, noiseStdM: d.noiseStdM })));
  return c;
}

/** Per-collider render styles of a built robot, computed once per handles object. */
const styles = new WeakMap<RobotHandles, Map<number, { name?: string; color?: string; hidden?: boolean; shape?: RenderShape }>>();
function stylesOf(robot: Robot, h: RobotReachState): Map<number, { name?: string; color?: string; hidden?: boolean; shape?: RenderShape }> {
  let m = styles.get(h.handles);
  if (m) return m;
  m = new Map();
  m.set(h.ground, { name: 'ground', color: '#9aa0a6' });
  const linksWithVisual = new Set(h.handles.visuals.map(([, li]) => li));
  const round = (x: number) => Math.round(x * 1e5) / 1e5;
  const meshShape = (filename: string, scale: [number, number, number]): RenderShape | undefined => {
    const path = resolveMeshPath(filename, robot.model.file, robot.opts.meshDirs);
    const mesh = robot.meshes.get(path);
    if (!mesh) return undefined;
    return { kind: 'mesh', meshId: `${path}|${scale.join(',')}`, positions: Array.from(scaledPoints(mesh, scale), round), indices: Array.from(mesh.indices) };
  };
  const palette = ['#d0d4da', '#e07b39', '#4a90d9', '#f0c040', '#3cb371', '#b070d0'];
  for (const [handle, li, vi] of h.handles.visuals) {
    const l = robot.model.links[li]!, v = l.visuals[vi]!, g = v.geometry;
    const shape: RenderShape = g.kind === 'box' ? { kind: 'box', halfExtentsM: [g.sizeM[0] / 2, g.sizeM[1] / 2, g.sizeM[2] / 2] }
      : g.kind === 'sphere' ? { kind: 'sphere', radiusM: g.radiusM }
        : g.kind === 'cylinder' ? { kind: 'cylinder', radiusM: g.radiusM, halfHeightM: g.lengthM / 2 }
          : meshShape(g.filename, g.scale)!;
    m.set(handle, { name: l.name, color: v.color ?? palette[li % palette.length]!, shape });
  }
  for (const [c, li, ci] of h.handles.collisionOf) {
    // Links with a <visual> are drawn by it; others by their collision shapes (a hull drawn as its mesh).
    if (linksWithVisual.has(li)) { m.set(c, { hidden: true }); continue; }
    const g = robot.model.links[li]!.collisions[ci]!.geometry;
    const shape = g.kind === 'mesh' ? meshShape(g.filename, g.scale) : undefined;
    m.set(c, { name: robot.model.links[li]!.name, color: palette[li % palette.length]!, ...(shape ? { shape } : {}) });
  }
  styles.set(h.handles, m);
  return m;
}

export const robotReach = defineScene<RobotReachConfig, RobotReachState>({
  id: 'robot/reach',
  family: 'robot',
  description: 'Any URDF robot (--set robot.urdf=FILE): its end-effector link reaches a target; joint-position actions.',
  defaultConfig,

  features(cfg) {
    const robot = robotOf(cfg);
    const names = robot.actuated.map((ji) => robot.joints[ji]!.name);
    const observation: Record<string, Features[string]> = {
      [OBS_STATE]: {
        kind: 'state', shape: [2 * names.length + 3], dtype: 'float32',
        names: [...names, ...names.map((n) => `${n}_vel`), 'target_x', 'target_y', 'target_z'], units: 'rad|m, rad/s|m/s, m',
      },
    };
    if (cfg.depth.enabled) observation[OBS_DEPTH] = depthFeature(cfg.depth);
    return {
      observation,
      action: { [ACTION]: { kind: 'action', shape: [names.length], dtype: 'float32', low: -1, high: 1, names } },
    };
  },

  build(world, cfg, rng: Rng) {
    const robot = robotOf(cfg);
    world.numSolverIterations = cfg.robot.solverIterations;
    const ground = addGround(world, { friction: 0.8 }).handle;
    const eeLink = endEffectorLink(robot, cfg.robot.endEffectorLink);
    // Target: the end effector of a random in-limit configuration, high enough above the ground.
    let targetQ: number[] = [], target: [number, number, number] = [0, 0, 0];
    for (let attempt = 0; attempt < 200; attempt++) {
      targetQ = robot.actuated.map((ji) => rng.uniform(robot.joints[ji]!.rangeLo, robot.joints[ji]!.rangeHi));
      const p = forwardKinematics(robot, expandJoints(robot, targetQ))[eeLink]!.p;
      target = [p.x, p.y, p.z];
      if (p.y >= cfg.targetMinHeightM) break;
    }
    const q0 = robot.actuated.map((ji) => {
      const j = robot.joints[ji]!;
      const mid = j.rangeLo <= 0 && j.rangeHi >= 0 ? 0 : (j.rangeLo + j.rangeHi) / 2;
      const half = (j.rangeHi - j.rangeLo) / 2;
      return Math.min(j.rangeHi, Math.max(j.rangeLo, mid + rng.uniform(-1, 1) * cfg.startNoiseFrac * half));
    });
    const handles = buildRobot(world, robot, expandJoints(robot, q0));
    // No paths in the key: the snapshot (and its hash) must not depend on where the checkout or the URDF lives.
    const robotKey = createHash('sha256').update(`${robot.urdfSha256}|${JSON.stringify({ ...robot.opts, meshDirs: [] })}`).digest('hex').slice(0, 32);
    byKey.set(robotKey, robot);
    const e = forwardKinematics(robot, expandJoints(robot, q0))[eeLink]!.p;
    const h: RobotReachState = {
      robotKey, handles, ground, eeLink, targetQ, target, ee: [e.x, e.y, e.z], q: q0, qd: q0.map(() => 0),
      prevDistM: 0, prevAction: Array.from(targetsToAction(robot, q0)), actionRate: 0,
    };
    h.prevDistM = dist(h);
    // The first depth image is cast before any physics step: let the ray queries see the new world.
    if (cfg.depth.enabled) refreshSceneQueries(world);
    return h;
  },

  rebind(_world, h, cfg) {
    byKey.set(h.robotKey, robotOf(cfg));
  },

  applyAction(world, h, action, cfg) {
    const robot = robotOf(cfg);
    h.prevDistM = dist(h);
    let rate = 0;
    for (let i = 0; i < action.length; i++) { const da = action[i]! - (h.prevAction[i] ?? 0); rate += da * da; }
    h.actionRate = rate;
    h.prevAction = Array.from(action);
    setActuatedTargets(world, robot, h.handles, actionToTargets(robot, action));
  },

  afterStep(world, h, cfg) {
    readState(world, robotOf(cfg), h);
  },

  observe(world, h, cfg, rng) {
    const n = h.q.length;
    const s = new Float32Array(2 * n + 3);
    for (let i = 0; i < n; i++) { s[i] = h.q[i]!; s[n + i] = h.qd[i]!; }
    s[2 * n] = h.target[0]; s[2 * n + 1] = h.target[1]; s[2 * n + 2] = h.target[2];
    const obs: Record<string, Float32Array> = { [OBS_STATE]: s };
    if (cfg.depth.enabled) {
      const [ex, ey, ez] = cfg.depth.eyeM, [tx, ty, tz] = cfg.depth.lookAtM;
      const q = lookAtQuat({ x: ex, y: ey, z: ez }, { x: tx, y: ty, z: tz }, { x: 0, y: 1, z: 0 });
      obs[OBS_DEPTH] = cameraOf(cfg).render(world, { x: ex, y: ey, z: ez }, q, rng);
    }
    return obs;
  },

  rewardTerms(_world, h, _action, cfg) {
    const d = dist(h);
    return { progress: h.prevDistM - d, reach: d < cfg.goalToleranceM ? 1 : 0, action_rate: -h.actionRate };
  },

  isSuccess: (_world, h, cfg) => dist(h) < cfg.goalToleranceM,
  terminalReason: () => null,
  metrics: (_world, h) => ({ distToTargetM: dist(h) }),

  render(_world, h, cfg) {
    return {
      overlays: [{ kind: 'marker', id: 'target', p: h.target, radiusM: Math.max(0.01, cfg.goalToleranceM), color: '#3cb371' }],
      hud: { distToTargetM: Number(dist(h).toFixed(3)) },
    };
  },

  style(h, handle) {
    const robot = byKey.get(h.robotKey);
    return robot ? stylesOf(robot, h).get(handle) : undefined;
  },

  /**
   * Moves the commanded configuration toward the one the target was sampled from (privileged: it knows the answer of
   * the IK), each joint at most at its URDF velocity limit per control step — so demonstrations respect the limits
   * and the safety envelope a policy learns from them (largest per-step change) lets a real robot move.
   */
  expert: (cfg) => ({
    reset() {},
    act(_world, h) {
      const robot = robotOf(cfg);
      const goal = targetsToAction(robot, h.targetQ);
      return Float32Array.from(robot.actuated, (ji, k) => {
        const j = robot.joints[ji]!;
        const maxDelta = (j.velocity * cfg.ctrlDtSec) / ((j.rangeHi - j.rangeLo) / 2);
        const prev = h.prevAction[k] ?? goal[k]!;
        return prev + Math.max(-maxDelta, Math.min(maxDelta, goal[k]! - prev));
      });
    },
  }),
});
