/**
 * startBridge: everything between "I have a policy and a URL" and "the control loop may run" — robot config
 * (given or derived from the policy's features) validated against the policy, safety envelopes combined (checkpoint
 * manifest ∩ robot config ∩ the action feature's bounds), roslib connection (+ auth), the robot's joint names checked
 * on the first observation, the control period taken from the caller, the config, the robot's self-description
 * (sim-robot `/stride/info`) or measured from the stream. Any mismatch throws one line and
 * nothing is ever published.
 */
import { ACTION, OBS_STATE, featureSize } from '../core/features.ts';
import { RealEnv, type BridgePolicy } from './real_env.ts';
import { defaultRobotConfig, validateRobotConfig, type RobotConfig } from './robot_config.ts';
import { RosbridgeRobot } from './ros_robot.ts';
import { SafetyEnvelope, type SafetySpec } from './safety.ts';

export interface StartBridgeOptions {
  url: string;
  token?: string;
  policy: BridgePolicy;
  /** The checkpoint manifest's safety envelope. */
  manifestSafety?: SafetySpec;
  /** Robot mapping; derived from the policy's features (the sim-robot's defaults) when absent. */
  config?: RobotConfig;
  /** Control period override, seconds (else config.ctrlDtSec, else the sim-robot's, else measured from the stream). */
  ctrlDtSec?: number;
  /** Watchdog stall limit in control periods (else config.watchdog.stallPeriods, else 2). */
  stallPeriods?: number;
  dryRun?: boolean;
  /** Socket + auth + first observation timeout, seconds (default 10). */
  connectTimeoutSec?: number;
  log?: (line: string) => void;
}

export interface BridgeSession {
  robot: RosbridgeRobot;
  env: RealEnv;
  config: RobotConfig;
  envelope: SafetyEnvelope;
  ctrlDtSec: number;
  close(): Promise<void>;
}

export async function startBridge(o: StartBridgeOptions): Promise<BridgeSession> {
  const pIn = o.policy.inputFeatures, pOut = o.policy.outputFeatures;
  const config = o.config ?? defaultRobotConfig(pIn, pOut);
  validateRobotConfig(config, pIn, pOut);
  const act = pOut[ACTION]!;
  const actionSize = featureSize(act), stateSize = featureSize(pIn[OBS_STATE]!);
  const envelope = SafetyEnvelope.combine(actionSize, stateSize, {
    'action feature': { actionLow: act.low, actionHigh: act.high },
    'checkpoint manifest': o.manifestSafety,
    'robot config': config.safety,
  });
  if (config.hold) {
    const h = envelope.apply(Float32Array.from(config.hold), null);
    if (h.clampedElements) throw new Error(`robot config: the hold command [${config.hold.join(', ')}] is outside the safety envelope`);
  }
  const robot = new RosbridgeRobot(config, { url: o.url, token: o.token, log: o.log, connectTimeoutSec: o.connectTimeoutSec ?? 10 });
  try {
    await robot.connect();
    const described = config.episode ? await checkSimRobotInfo(robot, config) : undefined;
    const ctrlDtSec = o.ctrlDtSec ?? config.ctrlDtSec ?? described ?? (await measurePeriod(robot));
    const env = new RealEnv(robot, {
      ctrlDtSec, envelope, stallPeriods: o.stallPeriods ?? config.watchdog?.stallPeriods ?? 2, dryRun: o.dryRun, log: o.log,
    });
    return { robot, env, config, envelope, ctrlDtSec, close: () => robot.disconnect() };
  } catch (e) {
    await robot.disconnect();
    throw e;
  }
}

/** Mean interval over a few observations, seconds (the mean is immune to one late tick followed by an early one). */
async function measurePeriod(robot: RosbridgeRobot, n = 11): Promise<number> {
  const t0 = (await robot.getObservation(2)).recvSec;
  let t1 = t0;
  for (let i = 1; i < n; i++) t1 = (await robot.getObservation(2)).recvSec;
  const dt = (t1 - t0) / (n - 1);
  if (!(dt > 0)) throw new Error('cannot measure the control period from the observation stream; give --ctrl-dt');
  return dt;
}

/**
 * Robots that describe themselves (the sim-robot's `/stride/info`) are checked for the command side too: the joints
 * they accept and the command type must match the config. Robots without the service are skipped.
 */
async function checkSimRobotInfo(robot: RosbridgeRobot, config: RobotConfig): Promise<number | undefined> {
  let info: { actionNames?: string[]; jointNames?: string[]; commandType?: string; ctrlDtSec?: number; scene?: string; topics?: { jointStates?: string } } | null = null;
  try {
    info = await robot.callService('/stride/info', {}, 5);
  } catch {
    return undefined;
  }
  if (info?.commandType && info.commandType !== config.command.type) {
    throw new Error(`command mismatch: the robot takes ${info.commandType} on its command topic, the config sends ${config.command.type}`);
  }
  // The observation side: every joint the policy reads must be among the joints the robot publishes (a checkpoint
  // trained on another scene fails here, before any command is sent).
  const joints = Array.isArray(info?.jointNames) ? info.jointNames : null;
  if (joints) {
    const topic = info?.topics?.jointStates ?? '/joint_states';
    const needed = config.observation.filter((o) => o.topic === topic).flatMap((o) => o.names);
    const missing = needed.filter((n) => !joints.includes(n));
    if (missing.length) {
      throw new Error(`feature mismatch: the policy reads joints [${needed.join(', ')}], the robot${info?.scene ? ` (scene ${info.scene})` : ''} publishes [${joints.join(', ')}] (missing ${missing.join(', ')})`);
    }
  }
  const want = config.command.names, have = info?.actionNames;
  if (have && (have.length !== want.length || (config.command.type === 'trajectory_msgs/JointTrajectory' && want.some((n) => !have.includes(n))))) {
    throw new Error(`joint-name mismatch: the robot's command joints are [${have.join(', ')}], the policy's action is [${want.join(', ')}]`);
  }
  return typeof info?.ctrlDtSec === 'number' && info.ctrlDtSec > 0 ? info.ctrlDtSec : undefined;
}
