/**
 * The real `stride bridge …` commands: sim-robot as a child process (auth, clean shutdown), `bridge run` input errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RosbridgeRobot } from '../../sim/bridge/ros_robot.ts';
import { loadRobotConfig } from '../../sim/bridge/robot_config.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STRIDE = join(ROOT, 'bin/stride.js');
const EXAMPLE = join(ROOT, 'sim/bridge/examples/point_reach.robot.json');

describe('stride bridge CLI', () => {
  let child: ChildProcess;
  let url = '';
  let stderr = '';

  beforeAll(async () => {
    child = spawn(process.execPath, [STRIDE, 'bridge', 'sim-robot', '--scene', 'toy/point_reach', '--port', '0', '--token', 'tok3n'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr!.on('data', (d) => { stderr += d; });
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => { out += d; const m = /listening (ws:\/\/\S+)/.exec(out); if (m) resolve(m[1]!); });
      child.once('exit', (c) => reject(new Error(`sim-robot exited ${c}: ${stderr}`)));
    });
  });
  afterAll(() => { if (child.exitCode === null) child.kill('SIGKILL'); });

  it('sim-robot serves the example robot config with auth and shuts down cleanly on SIGTERM', async () => {
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const cfg = loadRobotConfig(EXAMPLE);
    const bad = new RosbridgeRobot(cfg, { url, token: 'wrong' });
    await expect(bad.connect()).rejects.toThrow(/rejected the token/);
    await bad.disconnect();
    const robot = new RosbridgeRobot(cfg, { url, token: 'tok3n' });
    await robot.connect();
    const info = await robot.callService<{ scene: string; jointNames: string[] }>('/stride/info', {});
    expect(info.scene).toBe('toy/point_reach');
    expect(info.jointNames).toEqual(cfg.observation[0]!.names);
    await robot.disconnect();
    const code = await new Promise<number | null>((resolve) => { child.once('exit', (c) => resolve(c)); child.kill('SIGTERM'); });
    expect(code).toBe(0);
    expect(stderr).toMatch(/sim-robot stopped: \d+ ticks/);
  });

  it('bridge run and sim-robot fail with one-line errors on bad input', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stride-bridge-cli-'));
    writeFileSync(join(dir, 'robot.json'), '{"observation": [');
    const run = (args: string[]) => spawnSync(process.execPath, [STRIDE, 'bridge', ...args], { encoding: 'utf8', timeout: 60_000 });
    const r1 = run(['run', '--run', dir, '--url', 'ws://127.0.0.1:9', '--config', join(dir, 'robot.json')]);
    expect(r1.status).toBe(1);
    expect(r1.stderr.trim().split('\n')).toHaveLength(1);
    expect(r1.stderr).toMatch(/^stride: robot config .*robot\.json: invalid JSON/);
    const r2 = run(['sim-robot', '--scene', 'toy/point_reach', '--command-type', 'std_msgs/String']);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/^stride: --command-type must be one of/);
  });
});
