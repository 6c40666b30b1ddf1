/**
 * The real `stride …` commands end to end: expert demos → `stride train --method bc` → `stride bridge run` against a
 * `stride bridge sim-robot` child process (with auth) → the same seeds through `stride eval`; plus one-line errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RosbridgeRobot } from '../../sim/bridge/ros_robot.ts';
import { loadRobotConfig } from '../../sim/bridge/robot_config.ts';
import { loadLatencyProfile } from '../../sim/bridge/latency.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STRIDE = join(ROOT, 'bin/stride.js');
const EXAMPLE = join(ROOT, 'sim/bridge/examples/point_reach.robot.json');

function stride(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [STRIDE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const t = setTimeout(() => p.kill('SIGKILL'), 300_000);
    p.on('exit', (status) => { clearTimeout(t); resolve({ status, stdout, stderr }); });
  });
}

/** Wilson score interval (95%). */
function wilson(k: number, n: number): [number, number] {
  const z = 1.96, p = k / n, d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d, h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [c - h - 1e-9, c + h + 1e-9];
}

describe('stride bridge CLI', () => {
  let child: ChildProcess;
  let url = '';
  let stderr = '';
  const dir = mkdtempSync(join(tmpdir(), 'stride-bridge-cli-'));
  const run = join(dir, 'run_bc');
  let trained: Promise<void>;

  beforeAll(async () => {
    // A trained policy (in the background while the robot starts).
    trained = (async () => {
      const d = await stride(['demos', '--scene', 'toy/point_reach', '--episodes', '40', '--seed', '1000', '--out', join(dir, 'demos')]);
      if (d.status !== 0) throw new Error(`demos failed: ${d.stderr}`);
      const t = await stride(['train', '--method', 'bc', '--scene', 'toy/point_reach', '--data', join(dir, 'demos'), '--steps', '300', '--out', run]);
      if (t.status !== 0) throw new Error(`train failed: ${t.stderr}`);
    })();
    trained.catch(() => {});
    child = spawn(process.execPath, [STRIDE, 'bridge', 'sim-robot', '--scene', 'toy/point_reach', '--port', '0', '--token', 'tok3n', '--no-autoreset'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr!.on('data', (d) => { stderr += d; });
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => { out += d; const m = /listening (ws:\/\/\S+)/.exec(out); if (m) resolve(m[1]!); });
      child.once('exit', (c) => reject(new Error(`sim-robot exited ${c}: ${stderr}`)));
    });
  });
  afterAll(() => { if (child.exitCode === null) child.kill('SIGKILL'); });

  it('sim-robot serves the example robot config with auth', async () => {
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const cfg = loadRobotConfig(EXAMPLE);
    const bad = new RosbridgeRobot(cfg, { url, token: 'wrong', connectTimeoutSec: 60 });
    await expect(bad.connect()).rejects.toThrow(/rejected the token/);
    await bad.disconnect();
    const robot = new RosbridgeRobot(cfg, { url, token: 'tok3n', connectTimeoutSec: 60 });
    await robot.connect();
    const info = await robot.callService<{ scene: string; jointNames: string[] }>('/stride/info', {}, 30);
    expect(info.scene).toBe('toy/point_reach');
    expect(info.jointNames).toEqual(cfg.observation[0]!.names);
    await robot.disconnect();
  });

  it('bridge run with a trained checkpoint reaches the success of stride eval on the same seeds, and writes a latency profile', async () => {
    await trained;
    const r = await stride(['bridge', 'run', '--run', run, '--url', url, '--token', 'tok3n', '--config', EXAMPLE,
      '--episodes', '8', '--seed', '300', '--stall-periods', '20', '--connect-timeout', '60', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { steps: number; clamped: number; dropped: number; watchdogTrips: number; latencyMs: Record<string, number>; episodes: number; successRate: number; latencyProfile: string };
    expect(Object.keys(out.latencyMs)).toEqual(['p50', 'p95', 'p99']);
    expect(out.watchdogTrips).toBe(0);
    expect(out.episodes).toBe(8);
    expect(out.steps).toBeGreaterThan(30);
    // The example config's envelope is tighter (±0.8) than the checkpoint's (±1): a BC policy pushing hard gets clamped.
    expect(out.clamped).toBeGreaterThan(0);
    expect(existsSync(out.latencyProfile)).toBe(true);
    expect(loadLatencyProfile(out.latencyProfile).actionDelayMs.length).toBe(out.steps);
    const [e, el] = await Promise.all([
      stride(['eval', '--run', run, '--episodes', '8', '--seed', '300', '--json']),
      stride(['eval', '--run', run, '--episodes', '8', '--seed', '300', '--latency-profile', out.latencyProfile, '--json']),
    ]);
    expect(e.status, e.stderr).toBe(0);
    expect(el.status, el.stderr).toBe(0);
    const ev = JSON.parse(e.stdout) as { successRate: number };
    const evl = JSON.parse(el.stdout) as { latencyProfile: string; metrics: Record<string, number> };
    expect(evl.latencyProfile).toBe(out.latencyProfile);
    // The profile holds real loopback delays (> 0 ms), so replaying it delays actions on average.
    expect(evl.metrics['latency/delayMs']).toBeGreaterThan(0);
    const [lo, hi] = wilson(Math.round(ev.successRate * 8), 8);
    expect(out.successRate).toBeGreaterThanOrEqual(lo);
    expect(out.successRate).toBeLessThanOrEqual(hi);
    expect(ev.successRate).toBeGreaterThanOrEqual(0.5);
  }, 600_000); // three CLI processes after demos + training: seconds on an idle machine, minutes on a loaded one

  it('sim-robot shuts down cleanly on SIGTERM; bad input gives one-line errors', async () => {
    const code = await new Promise<number | null>((resolve) => { child.once('exit', (c) => resolve(c)); child.kill('SIGTERM'); });
    expect(code).toBe(0);
    expect(stderr).toMatch(/sim-robot stopped: \d+ ticks/);
    writeFileSync(join(dir, 'robot.json'), '{"observation": [');
    const [r1, r2] = await Promise.all([
      stride(['bridge', 'run', '--run', dir, '--url', 'ws://127.0.0.1:9', '--config', join(dir, 'robot.json')]),
      stride(['bridge', 'sim-robot', '--scene', 'toy/point_reach', '--command-type', 'std_msgs/String']),
    ]);
    expect(r1.status).toBe(1);
    expect(r1.stderr.trim().split('\n')).toHaveLength(1);
    expect(r1.stderr).toMatch(/^stride: robot config .*robot\.json: invalid JSON/);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/^stride: --command-type must be one of/);
    expect(readFileSync(join(dir, 'robot.json'), 'utf8')).toBe('{"observation": [');
  });
});
