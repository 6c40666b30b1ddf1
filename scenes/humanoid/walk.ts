/**
 * humanoid/walk — velocity-command tracking on flat ground (PPO's locomotion task).
 *
 * Observation `observation.state` (60) = proprioception (57, see humanoid.ts `writeProprio`: root height, root
 * forward/up axes and linear/angular velocity in the heading frame, 21 joint angles, 21 joint velocities, 2 foot
 * contact forces in body weights) + the command (3) in the heading frame: forward velocity (m/s), lateral velocity
 * (m/s, + = right), yaw rate (rad/s, + = turning left, about +Y).
 * Action (21): PD targets normalised to [-1, 1] over each joint's range, 0 = the default standing pose.
 * Terminated: 'fell' (pelvis below humanoid.fallMinRootHeightM or torso tilt beyond humanoid.fallMaxTiltDeg).
 * Reward terms: velocity (planar velocity tracking, exp kernel), yawRate (yaw-rate tracking), upright (cos torso tilt),
 * energy (−motor power, kW), actionRate (−Σ Δa²), alive (1 per step).
 */
import { ACTION, OBS_STATE, defineScene, type SceneConfigBase } from '../../sim/core/index.ts';
import { addGround, type World } from '../../sim/physics/index.ts';
import type { Rng } from '../../sim/math/rng.ts';
import {
  HUMANOID_RANGES,
  GROUP_GROUND, PROPRIO_SIZE, actionRate, buildHumanoid, defaultHumanoidConfig, fallReason, maybePush, motorPowerW,
  noisyJoints, partColor, proprioNames, readState, readout, rebindHumanoid, setActionTargets, standingPose, torsoUpright,
  writeProprio, type HumanoidConfig, type HumanoidState,
} from './humanoid.ts';
import { DOFS, NUM_DOFS } from './skeleton.ts';

export interface WalkConfig extends SceneConfigBase {
  humanoid: HumanoidConfig;
  command: {
    /** Forward velocity command range, m/s. */
    forwardMps: [number, number];
    /** Lateral velocity command range, m/s (+ = right). */
    lateralMps: [number, number];
    /** Yaw-rate command range, rad/s. */
    yawRateRadps: [number, number];
    /** A new command is drawn every this many seconds (≤ 0: one command per episode). */
    resampleSec: number;
  };
  /** Velocity tracking kernel width: term = exp(−|v − v_cmd|² / σ²), m/s. */
  velocitySigmaMps: number;
  /** Yaw-rate tracking kernel width, rad/s. */
  yawRateSigmaRadps: number;
}

export function defaultConfig(): WalkConfig {
  return {
    ctrlDtSec: 1 / 30,
    simDtSec: 1 / 240,
    maxSteps: 300,
    terminateOnSuccess: false,
    reward: { scales: { velocity: 1.0, yawRate: 0.3, upright: 0.2, energy: 0.05, actionRate: 0.02, alive: 0.5 } },
    humanoid: defaultHumanoidConfig(),
    command: { forwardMps: [0, 1.0], lateralMps: [-0.2, 0.2], yawRateRadps: [-0.5, 0.5], resampleSec: 0 },
    velocitySigmaMps: 0.35,
    yawRateSigmaRadps: 0.5,
  };
}

export interface WalkState {
  hum: HumanoidState;
  /** [forward m/s, lateral m/s, yaw rate rad/s] in the heading frame. */
  command: [number, number, number];
  /** Heading yaw at the last observation. */
  yaw: number;
  lastAction: number[];
}

const OBS_SIZE = PROPRIO_SIZE + 3;

function drawCommand(cfg: WalkConfig, rng: Rng): [number, number, number] {
  const c = cfg.command;
  return [rng.uniform(c.forwardMps[0], c.forwardMps[1]), rng.uniform(c.lateralMps[0], c.lateralMps[1]), rng.uniform(c.yawRateRadps[0], c.yawRateRadps[1])];
}

export const walk = defineScene<WalkConfig, WalkState>({
  id: 'humanoid/walk',
  family: 'humanoid',
  description: 'A 13-body, 21-DoF PD-driven humanoid tracking a velocity command on flat ground (PPO locomotion).',
  defaultConfig,
  configRanges: HUMANOID_RANGES,

  features: () => ({
    observation: {
      [OBS_STATE]: { kind: 'state', shape: [OBS_SIZE], dtype: 'float32', names: [...proprioNames(), 'cmd_forward', 'cmd_lateral', 'cmd_yaw_rate'], units: 'm, rad, m/s, rad/s, body weights' },
    },
    action: { [ACTION]: { kind: 'action', shape: [NUM_DOFS], dtype: 'float32', low: -1, high: 1, names: DOFS.map((d) => d.name) } },
  }),

  build(world, cfg, rng) {
    const ground = addGround(world, { friction: cfg.humanoid.groundFriction });
    ground.setCollisionGroups(GROUP_GROUND);
    const pose = standingPose(0, 0, 0, noisyJoints(rng, cfg.humanoid.initJointNoiseRad));
    const hum = buildHumanoid(world, cfg.humanoid, pose, ground.handle, rng);
    world.propagateModifiedBodyPositionsToColliders();
    rebindHumanoid(world, hum);
    return { hum, command: drawCommand(cfg, rng), yaw: 0, lastAction: new Array<number>(NUM_DOFS).fill(0) };
  },

  applyAction(world, h, action) {
    setActionTargets(world, h.hum, action);
  },

  afterStep(world, h, cfg, rng) {
    h.hum.t++;
    readState(world, h.hum);
    if (cfg.command.resampleSec > 0 && h.hum.t % Math.max(1, Math.round(cfg.command.resampleSec / cfg.ctrlDtSec)) === 0) h.command = drawCommand(cfg, rng);
    maybePush(world, h.hum, cfg.humanoid, cfg.ctrlDtSec, rng);
  },

  observe(world, h) {
    const s = readout(world, h.hum);
    const out = new Float32Array(OBS_SIZE);
    h.yaw = writeProprio(s, out, 0);
    out[PROPRIO_SIZE] = h.command[0]; out[PROPRIO_SIZE + 1] = h.command[1]; out[PROPRIO_SIZE + 2] = h.command[2];
    return { [OBS_STATE]: out };
  },

  rewardTerms(world, h, action, cfg) {
    const s = readout(world, h.hum);
    // Root velocity in the heading frame: forward = +X rotated by yaw, right = +Z rotated by yaw.
    const c = Math.cos(h.yaw), sn = Math.sin(h.yaw);
    const vx = s.lin[0]!, vz = s.lin[2]!;
    const vFwd = c * vx - sn * vz, vRight = sn * vx + c * vz;
    const ev = (vFwd - h.command[0]) ** 2 + (vRight - h.command[1]) ** 2;
    const ew = (s.ang[1]! - h.command[2]) ** 2;
    return {
      velocity: Math.exp(-ev / (cfg.velocitySigmaMps * cfg.velocitySigmaMps)),
      yawRate: Math.exp(-ew / (cfg.yawRateSigmaRadps * cfg.yawRateSigmaRadps)),
      upright: torsoUpright(s),
      energy: -motorPowerW(h.hum, s, cfg.humanoid) / 1000,
      actionRate: -actionRate(h.hum, action),
      alive: 1,
    };
  },

  isSuccess: () => false,
  terminalReason: (world, h, cfg) => fallReason(readout(world, h.hum), cfg.humanoid),

  metrics(world, h) {
    const s = readout(world, h.hum);
    const c = Math.cos(h.yaw), sn = Math.sin(h.yaw);
    return { rootHeightM: s.pos[1]!, forwardVelMps: c * s.lin[0]! - sn * s.lin[2]!, cmdForwardMps: h.command[0] };
  },

  rebind(world, h) { rebindHumanoid(world, h.hum); },

  render(world, h) {
    const s = readout(world, h.hum);
    const p: [number, number, number] = [s.pos[0]!, 0.02, s.pos[2]!];
    const c = Math.cos(h.yaw), sn = Math.sin(h.yaw);
    const to: [number, number, number] = [p[0] + c * h.command[0] + sn * h.command[1], 0.02, p[2] - sn * h.command[0] + c * h.command[1]];
    return {
      overlays: [{ kind: 'arrow', id: 'command', from: p, to, color: '#e0a030' }],
      hud: { cmdForwardMps: Number(h.command[0].toFixed(2)), rootHeightM: Number(s.pos[1]!.toFixed(3)) },
    };
  },

  style(h, handle) {
    if (handle === h.hum.groundCollider) return { name: 'ground', color: '#9aa0a6' };
    for (const [part, ch] of Object.entries(h.hum.parts)) if (ch === handle) return { name: part, color: partColor(part) };
    return undefined;
  },
});
