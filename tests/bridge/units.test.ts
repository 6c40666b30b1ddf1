/**
 * Pieces of the bridge without a socket: envelope combination and clamping, robot config validation, protocol
 * validators and auth, and the latency-replay Env wrapper on a real scene.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeEnv } from '../../sim/core/index.ts';
import { SafetyEnvelope } from '../../sim/bridge/safety.ts';
import { defaultRobotConfig, loadRobotConfig, parseRobotConfig, validateRobotConfig } from '../../sim/bridge/robot_config.ts';
import { authMac, checkAuth, makeAuth, parseOp, validateMsg } from '../../sim/bridge/protocol.ts';
import { LatencyEnv, loadLatencyProfile, saveLatencyProfile, withLatency, type LatencyProfile } from '../../sim/bridge/latency.ts';
import { runEpisode } from '../../sim/core/index.ts';
import { loadScenes, pdPolicy } from './helpers.ts';

describe('safety envelope', () => {
  it('tighter bound wins per element; rate limit follows the previous command; counts clamps', () => {
    const e = SafetyEnvelope.combine(2, 1, {
      feature: { actionLow: -1, actionHigh: 1 },
      manifest: { actionLow: [-0.5, -2], actionHigh: [0.5, 0.9], maxDeltaPerStep: [0.1, 1] },
      robot: { actionHigh: [null, 0.7], maxDeltaPerStep: 0.2, workspaceLow: [-3], workspaceHigh: [3] },
    });
    expect(e.describe().actionLow).toEqual([-0.5, -1]);
    expect(e.describe().actionHigh).toEqual([0.5, 0.7]);
    expect(e.describe().maxDeltaPerStep).toEqual([0.1, 0.2]);
    const first = e.apply(Float32Array.of(0.9, -0.3), null);
    expect(Array.from(first.cmd)).toEqual([0.5, Math.fround(-0.3)]);
    expect(first.clampedElements).toBe(1);
    const second = e.apply(Float32Array.of(-0.9, 0.6), first.cmd);
    expect(second.cmd[0]).toBeCloseTo(0.4, 6);
    expect(second.cmd[1]).toBeCloseTo(-0.1, 6);
    expect(second.clampedElements).toBe(2);
    expect(e.apply(Float32Array.of(0.45, -0.05), second.cmd).clampedElements).toBe(0);
    expect(e.outsideWorkspace([2.9])).toBe(-1);
    expect(e.outsideWorkspace([3.1])).toBe(0);
  });

  it('rejects empty ranges and malformed bounds with one-line errors', () => {
    expect(() => SafetyEnvelope.combine(1, 0, { a: { actionLow: 0.5 }, b: { actionHigh: 0.2 } })).toThrow(/empty range/);
    expect(() => SafetyEnvelope.combine(2, 0, { manifest: { actionLow: [0] } })).toThrow(/manifest.*actionLow has 1 values, expected 2/);
    expect(() => SafetyEnvelope.combine(1, 0, { robot: { maxDeltaPerStep: 0 } })).toThrow(/must be > 0/);
  });
});

describe('robot config', () => {
  beforeAll(loadScenes);

  it('loads, validates against the policy features and names what differs', () => {
    const env = makeEnv('toy/point_reach');
    const p = pdPolicy({ observation: env.observationFeatures, action: env.actionFeatures });
    const cfg = defaultRobotConfig(p.inputFeatures, p.outputFeatures);
    expect(() => validateRobotConfig(cfg, p.inputFeatures, p.outputFeatures)).not.toThrow();
    const dir = mkdtempSync(join(tmpdir(), 'stride-bridge-'));
    const file = join(dir, 'robot.json');
    writeFileSync(file, JSON.stringify({ ...cfg, observation: [{ ...cfg.observation[0]!, names: ['x', 'z', 'vx', 'vz', 'dz_goal', 'dx_goal'] }] }));
    const swapped = loadRobotConfig(file);
    expect(() => validateRobotConfig(swapped, p.inputFeatures, p.outputFeatures)).toThrow(/observation\.state names differ \(4: policy 'dx_goal' vs robot 'dz_goal'; 5: policy 'dz_goal' vs robot 'dx_goal'\)/);
    writeFileSync(file, '{ "observation": ');
    expect(() => loadRobotConfig(file)).toThrow(/invalid JSON/);
    expect(() => parseRobotConfig({ observation: { topic: '/js', names: ['a'] }, command: { topic: '/c', type: 'std_msgs/String', names: ['a'] } })).toThrow(/command\.type must be one of/);
    expect(() => parseRobotConfig({ observation: { topic: '/js', names: ['a'] }, command: { topic: '/c', type: 'geometry_msgs/Twist', names: ['v', 'w'] } })).toThrow(/twistFields/);
    // A misspelt key is refused (a silently ignored 'estoptopic' would be a disabled e-stop), prototype names too.
    const ok = { observation: { topic: '/js', names: ['a'] }, command: { topic: '/c', type: 'std_msgs/Float64MultiArray', names: ['a'] } };
    expect(() => parseRobotConfig(ok)).not.toThrow();
    expect(() => parseRobotConfig({ ...ok, estoptopic: '/estop' })).toThrow(/robot config <inline>: estoptopic is not an allowed field/);
    expect(() => parseRobotConfig({ ...ok, watchdog: { stallPeriod: 2 } })).toThrow(/watchdog\.stallPeriod is not an allowed field/);
    expect(() => parseRobotConfig(JSON.parse(`{"__proto__": {}, ${JSON.stringify(ok).slice(1)}`))).toThrow(/__proto__ is not an allowed field/);
    expect(() => parseRobotConfig({ ...ok, ctrlDtSec: 0 })).toThrow(/ctrlDtSec must be > 0/);
    env.dispose();
  });
});

describe('protocol', () => {
  it('validates message structure and rosauth MACs', () => {
    expect(validateMsg('sensor_msgs/JointState', { name: ['a', 'b'], position: [1, 2] })).toBeNull();
    expect(validateMsg('sensor_msgs/JointState', { name: ['a', 'b'], position: [1] })).toMatch(/'position' has 1 elements/);
    expect(validateMsg('trajectory_msgs/JointTrajectory', { joint_names: ['a'], points: [] })).toMatch(/non-empty/);
    expect(validateMsg('geometry_msgs/Twist', { linear: { x: 'fast' }, angular: {} })).toMatch(/linear\.x/);
    expect(validateMsg('std_msgs/Float64MultiArray', { data: [1, null] })).toMatch(/data\[1\]/);
    expect(parseOp('{"op":"publish","topic":"/a"}')).toEqual({ error: "op 'publish': field 'msg' must be an object", id: undefined });
    const a = makeAuth('tok');
    const op = { op: 'auth', ...a };
    expect(checkAuth('tok', op, a.t)).toBeNull();
    expect(checkAuth('tik', op, a.t)).toMatch(/wrong token/);
    expect(checkAuth('tok', op, a.end + 1)).toMatch(/end time/);
    // rosauth's MAC, computed here independently: sha512 over secret + client + dest + rand + t + level + end, hex.
    const want = createHash('sha512').update(`tok${a.client}${a.dest}${a.rand}${a.t}${a.level}${a.end}`).digest('hex');
    expect(a.mac).toBe(want);
    expect(authMac('tok', a)).toBe(want);
    expect(authMac('tok', { ...a, rand: `${a.rand}0` })).not.toBe(want);
  });
});

describe('latency replay (LatencyEnv)', () => {
  beforeAll(loadScenes);

  const profile = (obs: number[], act: number[]): LatencyProfile => ({ kind: 'stride-latency-profile', version: 1, ctrlDtSec: 0.05, obsDelayMs: obs, actionDelayMs: act });

  async function run(env: LatencyEnv | ReturnType<typeof makeEnv>, seed: number): Promise<{ success: boolean; hash: string; dropped: number }> {
    const p = pdPolicy({ observation: env.observationFeatures, action: env.actionFeatures });
    let { obs } = env.reset({ seed });
    let success = false, dropped = 0;
    for (;;) {
      const r = env.step(await p.act(obs));
      success ||= !!r.metrics.success;
      dropped = r.metrics['latency/dropped'] ?? 0;
      obs = r.obs;
      if (r.terminated || r.truncated) break;
    }
    const inner = env instanceof LatencyEnv ? env.inner : env;
    return { success, hash: (inner as ReturnType<typeof makeEnv>).stateHash(), dropped };
  }

  it('sub-period delays change nothing; long delays are dropped (or applied late) reproducibly', async () => {
    const plain = makeEnv('toy/point_reach');
    const base = await run(plain, 21);
    const fast = new LatencyEnv(makeEnv('toy/point_reach'), profile([0.4, 1.2], [2, 3]));
    expect(await run(fast, 21)).toEqual({ ...base, dropped: 0 });
    // Always later than a period with stale-dropping: no command ever applies, the ball never moves.
    const slow = new LatencyEnv(makeEnv('toy/point_reach'), profile([30], [40]));
    const r = await run(slow, 21);
    expect(r.success).toBe(false);
    expect(r.dropped).toBe(100);
    // Mixed delays, applied late instead of dropped: seeded, so it replays exactly, and it differs from no delay.
    const mixed = () => new LatencyEnv(makeEnv('toy/point_reach'), profile([1, 20, 45], [5, 60, 90]), { seed: 3, dropStale: false });
    const m1 = await run(mixed(), 21), m2 = await run(mixed(), 21);
    expect(m1).toEqual(m2);
    expect(m1.hash).not.toBe(base.hash);
    // As a SceneEnv (what evaluation and rollouts take): the scripted expert still binds, state hashes still work.
    const wrapped = withLatency(makeEnv('toy/point_reach'), profile([30], [40]));
    const ep = runEpisode(wrapped, 21, (env) => { const ex = env.expert(); return () => ex.act(); });
    expect(ep.success).toBe(false);
    expect(ep.metrics['latency/dropped']).toBe(100);
    expect(ep.finalStateHash).toBe(wrapped.stateHash());
    const dir = mkdtempSync(join(tmpdir(), 'stride-lat-'));
    saveLatencyProfile(join(dir, 'p.json'), profile([1], [2]));
    expect(loadLatencyProfile(join(dir, 'p.json')).obsDelayMs).toEqual([1]);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ kind: 'stride-latency-profile', obsDelayMs: [], actionDelayMs: [1] }));
    expect(() => loadLatencyProfile(join(dir, 'bad.json'))).toThrow(/obsDelayMs' must be a non-empty array/);
  });
});
