/**
 * `stride robot import` end to end (real CLI processes): a self-contained robot folder, a bridge robot config that
 * matches the scene's features and the URDF's limits, rollouts and the sim-robot on the imported robot, and one-line
 * errors with nothing written for bad URDFs.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initPhysics } from '../../sim/physics/index.ts';
import { makeEnv } from '../../scenes/index.ts';
import { loadRobotConfig, validateRobotConfig } from '../../sim/bridge/robot_config.ts';
import { urdfPath } from '../../scenes/robot/reach.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STRIDE = join(ROOT, 'bin/stride.js');

/** Run `stride …` in `cwd`; with `untilStderr`, interrupt it (SIGINT) once its stderr matches. */
function stride(args: string[], cwd: string, untilStderr?: RegExp): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [STRIDE, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; if (untilStderr?.test(stderr)) p.kill('SIGINT'); });
    const t = setTimeout(() => p.kill('SIGKILL'), 240_000);
    p.on('exit', (status) => { clearTimeout(t); resolve({ status, stdout, stderr }); });
  });
}

let dir = '';
beforeAll(async () => {
  await initPhysics();
  dir = mkdtempSync(join(tmpdir(), 'stride-robot-cli-'));
});
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

describe('stride robot import', () => {
  it('writes a self-contained robot folder whose bridge config matches the URDF and the scene', async () => {
    const r = await stride(['robot', 'import', urdfPath('arm6_gripper'), '--out', 'robots/my_arm', '--json'], dir);
    expect(r.status, r.stderr).toBe(0);
    const sum = JSON.parse(r.stdout);
    expect(sum.actuated).toEqual(['j1_yaw', 'j2_shoulder', 'j3_elbow', 'j4_forearm_roll', 'j5_wrist_pitch', 'j6_wrist_roll', 'finger_left_joint']);
    expect(sum.meshes).toBe(4);
    const out = join(dir, 'robots', 'my_arm');
    expect(readdirSync(out).sort()).toEqual(['meshes', 'model.json', 'robot.json', 'robot.urdf', 'scene.json']);
    expect(readdirSync(join(out, 'meshes')).sort()).toEqual(['base.stl', 'forearm.obj', 'palm.obj', 'upper_arm.stl']);
    // Every mesh reference now points inside the folder (package:// included).
    const urdf = readFileSync(join(out, 'robot.urdf'), 'utf8');
    expect([...urdf.matchAll(/filename="([^"]*)"/g)].every((m) => m[1]!.startsWith('meshes/'))).toBe(true);
    const { overrides } = JSON.parse(readFileSync(join(out, 'scene.json'), 'utf8'));
    expect(overrides['robot.urdf']).toBe(join('robots', 'my_arm', 'robot.urdf'));

    // The bridge config fits the scene's features as built from the imported copy.
    const env = makeEnv('robot/reach', { ...overrides, 'robot.urdf': join(out, 'robot.urdf') });
    try {
      const cfg = loadRobotConfig(join(out, 'robot.json'));
      validateRobotConfig(cfg, env.observationFeatures, env.actionFeatures);
      expect(cfg.command.type).toBe('trajectory_msgs/JointTrajectory');
      expect(cfg.command.names).toEqual(sum.actuated);
      // action ±1 → the URDF limits: j2_shoulder is [-1.8, 1.8], the finger [0, 0.035].
      const k = cfg.command.names.indexOf('j2_shoulder'), f = cfg.command.names.indexOf('finger_left_joint');
      expect(cfg.command.offset![k]! - cfg.command.scale![k]!).toBeCloseTo(-1.8, 6);
      expect(cfg.command.offset![k]! + cfg.command.scale![k]!).toBeCloseTo(1.8, 6);
      expect(cfg.command.offset![f]! + cfg.command.scale![f]!).toBeCloseTo(0.035, 6);
      // Velocity limit 1.5 rad/s × 0.05 s over a half-range of 1.8 rad.
      expect((cfg.safety!.maxDeltaPerStep as number[])[k]).toBeCloseTo((1.5 * 0.05) / 1.8, 5);
      // Workspace: the shoulder's position element within its limits ± 5 % of the range; targets unbounded.
      const names = env.observationFeatures['observation.state']!.names!;
      const lo = cfg.safety!.workspaceLow as (number | null)[], hi = cfg.safety!.workspaceHigh as (number | null)[];
      expect(lo[names.indexOf('j2_shoulder')]).toBeCloseTo(-1.8 - 0.18, 6);
      expect(hi[names.indexOf('j2_shoulder')]).toBeCloseTo(1.8 + 0.18, 6);
      expect(hi[names.indexOf('j2_shoulder_vel')]).toBeCloseTo(1.5 * 1.5, 6);
      expect(lo[names.indexOf('target_x')]).toBeNull();
      expect(cfg.observation.map((o) => [o.topic, o.field])).toEqual([['/joint_states', 'position'], ['/joint_states', 'velocity'], ['/stride/target', 'data']]);
    } finally {
      env.dispose();
    }

    // The imported robot runs in the scene from the folder, and the sim-robot serves it.
    const roll = await stride(['rollout', '--scene', 'robot/reach', '--set', `robot.urdf=${overrides['robot.urdf']}`, '--policy', 'expert', '--episodes', '2', '--json'], dir);
    expect(roll.status, roll.stderr).toBe(0);
    expect(JSON.parse(roll.stdout).episodes.map((e: { success: boolean }) => e.success)).toEqual([true, true]);
    const sim = await stride(['bridge', 'sim-robot', '--scene', 'robot/reach', '--set', `robot.urdf=${overrides['robot.urdf']}`, '--port', '0', '--command-type', 'trajectory_msgs/JointTrajectory'], dir, / Hz/);
    expect(sim.stdout).toMatch(/listening ws:\/\/127\.0\.0\.1:\d+/);
    expect(sim.stderr).toContain('commands on /command (j1_yaw, j2_shoulder, j3_elbow, j4_forearm_roll, j5_wrist_pitch, j6_wrist_roll, finger_left_joint)');
  }, 300_000);

  it('refuses an existing folder without --force and replaces it with --force', async () => {
    const again = await stride(['robot', 'import', urdfPath('planar_2link'), '--out', 'robots/p2'], dir);
    expect(again.status, again.stderr).toBe(0);
    const r = await stride(['robot', 'import', urdfPath('slider_spinner'), '--out', 'robots/p2'], dir);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe('stride: robots/p2 exists (use --force to replace it)');
    const f = await stride(['robot', 'import', urdfPath('slider_spinner'), '--out', 'robots/p2', '--force'], dir);
    expect(f.status, f.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'robots', 'p2', 'model.json'), 'utf8')).name).toBe('slider_spinner');
  }, 120_000);

  it('a bad URDF: one line naming the element, exit 1, nothing written (import and rollout alike)', async () => {
    writeFileSync(join(dir, 'loop.urdf'), `<robot name="r">
<link name="base"/>
<link name="a"><inertial><mass value="1"/><inertia ixx="0.01" iyy="0.01" izz="0.01"/></inertial></link>
<joint name="j1" type="continuous"><parent link="base"/><child link="a"/></joint>
<joint name="j2" type="continuous"><parent link="a"/><child link="a"/></joint>
</robot>`);
    const r = await stride(['robot', 'import', 'loop.urdf', '--out', 'robots/loop'], dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^stride: urdf \S+loop\.urdf: line 5: <joint name="j2">: joins link 'a' to itself\n$/);
    expect(existsSync(join(dir, 'robots', 'loop'))).toBe(false);
    expect(readdirSync(join(dir, 'robots')).some((n) => n.includes('tmp'))).toBe(false);
    const roll = await stride(['rollout', '--scene', 'robot/reach', '--set', 'robot.urdf=loop.urdf', '--policy', 'random'], dir);
    expect(roll.status).toBe(1);
    expect(roll.stderr).toMatch(/^stride: urdf \S+loop\.urdf: line 5: <joint name="j2">: joins link 'a' to itself\n$/);
    const missing = await stride(['robot', 'import', 'nope.urdf', '--out', 'robots/x'], dir);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe('stride: urdf nope.urdf: not found\n');
  }, 120_000);
});
