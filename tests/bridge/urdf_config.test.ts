/**
 * The robot config generated from a URDF, over a real socket: a minimal rosbridge-v2 server (ws) stands in for a
 * hardware driver and publishes what one publishes — `/joint_states` with the URDF joint names in `position` and
 * `velocity` — plus the operator's `/stride/target`; the standard RosbridgeRobot (roslib) must assemble robot/reach's
 * observation.state from them (positions, `<joint>_vel` from the same message, target) and send JointTrajectory
 * commands in radians/metres over the URDF limits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { loadScenes } from './helpers.ts';
import { makeEnv } from '../../sim/core/index.ts';
import { RosbridgeRobot } from '../../sim/bridge/ros_robot.ts';
import { validateRobotConfig } from '../../sim/bridge/robot_config.ts';
import { defaultUrdfBridgeOptions, robotConfigFromUrdf } from '../../sim/bridge/urdf_config.ts';
import { robotOf } from '../../scenes/robot/reach.ts';

let wss: WebSocketServer;
let url = '';
const commands: Record<string, unknown>[] = [];
let tick = 0;
let timer: NodeJS.Timeout | null = null;

beforeAll(async () => {
  await loadScenes();
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
  const subs = new Map<WebSocket, Set<string>>();
  wss.on('connection', (ws) => {
    subs.set(ws, new Set());
    ws.on('message', (raw) => {
      const m = JSON.parse(String(raw)) as { op: string; topic?: string; msg?: Record<string, unknown> };
      if (m.op === 'subscribe') subs.get(ws)!.add(m.topic!);
      if (m.op === 'publish' && m.topic === '/joint_trajectory_controller/joint_trajectory') commands.push(m.msg!);
    });
    ws.on('close', () => subs.delete(ws));
  });
  // The "driver": 20 Hz joint states (message k: positions 0.01·k + j, velocities 0.1·k + j), target at 5 Hz.
  const joints = ['shoulder', 'elbow'];
  timer = setInterval(() => {
    tick++;
    const t = { secs: Math.floor(Date.now() / 1000), nsecs: 0 };
    const js = { header: { stamp: t, frame_id: '' }, name: joints, position: joints.map((_, j) => 0.01 * tick + j), velocity: joints.map((_, j) => 0.1 * tick + j), effort: [] };
    for (const [ws, s] of subs) {
      if (s.has('/joint_states')) ws.send(JSON.stringify({ op: 'publish', topic: '/joint_states', msg: js }));
      if (s.has('/stride/target') && tick % 4 === 1) ws.send(JSON.stringify({ op: 'publish', topic: '/stride/target', msg: { layout: { dim: [], data_offset: 0 }, data: [0.3, 0.4, -0.1] } }));
    }
  }, 50);
});

afterAll(async () => {
  if (timer) clearInterval(timer);
  await new Promise<void>((r) => wss.close(() => r()));
});

describe('URDF-generated robot config over rosbridge', () => {
  it('assembles positions, same-message velocities and the target; commands are the URDF joint ranges', async () => {
    const env = makeEnv('robot/reach', { 'robot.urdf': 'planar_2link' });
    const robot = robotOf(env.config as never);
    const cfg = robotConfigFromUrdf(robot, env.observationFeatures, env.actionFeatures, defaultUrdfBridgeOptions(env.ctrlDtSec));
    validateRobotConfig(cfg, env.observationFeatures, env.actionFeatures);
    const r = new RosbridgeRobot(cfg, { url, connectTimeoutSec: 20 });
    try {
      await r.connect();
      expect(r.observationFeatures['observation.state']!.names).toEqual(env.observationFeatures['observation.state']!.names);
      for (let n = 0; n < 5; n++) {
        const { obs } = await r.getObservation(5);
        const s = obs['observation.state'] as Float32Array;
        expect(s.length).toBe(7);
        // Positions and velocities from the same JointState message k.
        const k = Math.round((s[0]! - 0) / 0.01);
        expect(s[1]!).toBeCloseTo(0.01 * k + 1, 5);
        expect(s[2]!).toBeCloseTo(0.1 * k, 4);
        expect(s[3]!).toBeCloseTo(0.1 * k + 1, 4);
        expect(Array.from(s.slice(4))).toEqual([0.3, 0.4, -0.1].map(Math.fround));
      }
      // Action ±1 → the URDF limits (shoulder ±1.5 rad, elbow ±2.5 rad), after the config's scale/offset.
      const before = commands.length;
      await r.sendAction(Float32Array.of(1, -1), 0);
      for (let waited = 0; commands.length === before && waited < 20_000; waited += 20) await new Promise((res) => setTimeout(res, 20));
      const last = commands.at(-1) as { joint_names: string[]; points: { positions: number[] }[] };
      expect(last.joint_names).toEqual(['shoulder', 'elbow']);
      expect(last.points[0]!.positions[0]).toBeCloseTo(1.5, 6);
      expect(last.points[0]!.positions[1]).toBeCloseTo(-2.5, 6);
    } finally {
      await r.disconnect();
      env.dispose();
    }
  }, 60_000);
});
