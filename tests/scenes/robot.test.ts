/**
 * URDF → Rapier (sim/robot) and the robot/reach scene, on the three robots the project ships for this
 * (scenes/robot/urdf: a 2-link planar arm, a 6-DoF arm with a mimic-finger gripper and meshes, a prismatic + continuous
 * slider/spinner): what is built matches the file, driven joints reach their targets, the kinematics agree with the
 * physics, same seed ⇒ same hash, checkEnv passes, and malformed URDFs each give their one-line error.
 */
import { mkdtempSync, rmSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, initPhysics, type World } from '../../sim/physics/index.ts';
import { checkEnv } from '../../sim/core/index.ts';
import { makeEnv } from '../../scenes/index.ts';
import { SHIPPED_ROBOTS, buildOptions, defaultConfig, robotOf, urdfPath } from '../../scenes/robot/reach.ts';
import {
  buildRobot, expandJoints, forwardKinematics, loadRobot, readJoints, setActuatedTargets, totalMassKg, type Robot,
} from '../../sim/robot/build.ts';
import { parseUrdf } from '../../sim/robot/urdf.ts';
import { Rng } from '../../sim/math/rng.ts';

let tmp = '';
beforeAll(async () => {
  await initPhysics();
  tmp = mkdtempSync(join(tmpdir(), 'stride-urdf-'));
});
afterAll(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

const robotFor = (name: string, over: Partial<ReturnType<typeof defaultConfig>['robot']> = {}): Robot => {
  const cfg = defaultConfig();
  Object.assign(cfg.robot, { urdf: name, ...over });
  return robotOf(cfg);
};

/** Expected counts straight from the URDF text (not through the parser). */
const EXPECT = {
  planar_2link: { links: 4, joints: 3, movable: 2, actuated: ['shoulder', 'elbow'], massKg: 1.6 },
  arm6_gripper: { links: 10, joints: 9, movable: 8, actuated: ['j1_yaw', 'j2_shoulder', 'j3_elbow', 'j4_forearm_roll', 'j5_wrist_pitch', 'j6_wrist_roll', 'finger_left_joint'], massKg: 3.7 },
  slider_spinner: { links: 4, joints: 3, movable: 2, actuated: ['slide', 'spin'], massKg: 2.0 },
} as const;

function withWorld<T>(fn: (w: World) => T): T {
  const w = createWorld(0.01);
  try { return fn(w); } finally { w.free(); }
}

describe('URDF → Rapier bodies and joints', () => {
  for (const name of SHIPPED_ROBOTS) {
    it(`${name}: bodies, joints, limits and masses match the file`, () => {
      const robot = robotFor(name);
      const e = EXPECT[name];
      expect(robot.model.links.length).toBe(e.links);
      expect(robot.model.joints.length).toBe(e.joints);
      expect(robot.actuated.map((i) => robot.joints[i]!.name)).toEqual(e.actuated);
      expect(totalMassKg(robot)).toBeCloseTo(e.massKg, 9);
      expect(robot.warnings).toEqual([]);
      withWorld((world) => {
        const h = buildRobot(world, robot, expandJoints(robot, robot.actuated.map(() => 0)));
        expect(world.bodies.len()).toBe(e.links);
        expect(world.impulseJoints.len()).toBe(e.joints);
        expect(h.bodies.length).toBe(e.links);
        robot.model.links.forEach((l, i) => {
          const b = world.getRigidBody(h.bodies[i]!);
          if (l.name === robot.model.root) { expect(b.isFixed()).toBe(true); return; }
          // URDF mass on every moving body; a massless tool frame gets minLinkMassKg.
          expect(b.mass()).toBeCloseTo(l.inertial?.massKg ?? defaultConfig().robot.minLinkMassKg, 6);
          const com = b.localCom();
          const want = l.inertial?.origin.xyz ?? [0, 0, 0];
          expect(Math.hypot(com.x, com.y, com.z)).toBeCloseTo(Math.hypot(...want), 6);
          const I = b.principalInertia();
          const it = l.inertial?.inertia;
          if (it) expect(I.x + I.y + I.z).toBeCloseTo(it.ixx + it.iyy + it.izz, 8); // trace is frame-independent
        });
        robot.model.joints.forEach((j, i) => {
          const rj = world.getImpulseJoint(h.joints[i]!) as unknown as { limitsEnabled?(): boolean; limitsMin?(): number; limitsMax?(): number };
          if (j.type === 'revolute' || j.type === 'prismatic') {
            expect(rj.limitsEnabled!(), j.name).toBe(true);
            expect(rj.limitsMin!()).toBeCloseTo(j.limit!.lower, 6);
            expect(rj.limitsMax!()).toBeCloseTo(j.limit!.upper, 6);
          } else if (j.type === 'continuous') {
            expect(rj.limitsEnabled!(), j.name).toBe(false);
          }
        });
      });
    });

    it(`${name}: driven joints reach their targets and the bodies sit where forward kinematics puts them`, () => {
      const robot = robotFor(name);
      const rng = new Rng(5);
      withWorld((world) => {
        const h = buildRobot(world, robot, expandJoints(robot, robot.actuated.map(() => 0)));
        world.numSolverIterations = 8;
        // Targets well inside the limits (continuous: anywhere in ±2.5 rad).
        const targets = robot.actuated.map((ji) => {
          const j = robot.joints[ji]!;
          return j.rangeLo + (0.2 + 0.6 * rng.uniform(0, 1)) * (j.rangeHi - j.rangeLo);
        });
        setActuatedTargets(world, robot, h, targets);
        for (let i = 0; i < 300; i++) world.step();
        const { q, qd } = readJoints(world, robot, h);
        robot.actuated.forEach((ji, k) => {
          const tol = robot.joints[ji]!.type === 'prismatic' ? 0.003 : 0.02;
          expect(Math.abs(q[k]! - targets[k]!), `${robot.joints[ji]!.name}: q ${q[k]} vs target ${targets[k]}`).toBeLessThan(tol);
          expect(Math.abs(qd[k]!)).toBeLessThan(0.05);
        });
        // Mimic joints follow their leader.
        robot.joints.forEach((j, i) => {
          if (!j.mimic) return;
          const [qm] = readJoints(world, robot, h, [i]).q, [ql] = readJoints(world, robot, h, [j.mimic.leader]).q;
          expect(qm!).toBeCloseTo(j.mimic.multiplier * ql! + j.mimic.offset, 2);
        });
        // Every link body where FK of the *measured* joint values puts its link frame (checks axes, signs, frames).
        const full = expandJoints(robot, q);
        robot.joints.forEach((j, i) => { if (j.mimic) full[i] = readJoints(world, robot, h, [i]).q[0]!; });
        const fk = forwardKinematics(robot, full);
        robot.model.links.forEach((l, i) => {
          const t = world.getRigidBody(h.bodies[i]!).translation();
          const p = fk[i]!.p;
          expect(Math.hypot(t.x - p.x, t.y - p.y, t.z - p.z), `${l.name} body vs FK`).toBeLessThan(0.004);
        });
      });
    });

    it(`robot/reach with ${name}: checkEnv passes and the expert reaches the target`, () => {
      const r = checkEnv(() => makeEnv('robot/reach', { 'robot.urdf': name }), { seed: 4, steps: 20 });
      expect(r.finalHash).toMatch(/^[0-9a-f]{64}$/);
      const env = makeEnv('robot/reach', { 'robot.urdf': name });
      try {
        let successes = 0;
        for (const seed of [0, 1, 2]) {
          env.reset({ seed });
          const ex = env.expert();
          for (let t = 0; t < 100; t++) {
            const s = env.step(ex.act());
            if (s.terminated || s.truncated) { successes += s.metrics.success ?? 0; break; }
          }
        }
        expect(successes).toBe(3);
      } finally {
        env.dispose();
      }
    });
  }

  it('same seed ⇒ same snapshot hash; another seed ⇒ another; restore + replay ⇒ same hash', () => {
    const run = (seed: number) => {
      const env = makeEnv('robot/reach', { 'robot.urdf': 'arm6_gripper' });
      try {
        env.reset({ seed });
        const rng = new Rng(seed + 100);
        const hashes: string[] = [];
        let mid: Uint8Array | null = null;
        const actions: Float32Array[] = [];
        for (let t = 0; t < 12; t++) {
          const a = Float32Array.from({ length: env.actionFeatures['action']!.shape[0]! }, () => rng.uniform(-1, 1));
          actions.push(a);
          env.step(a);
          if (t === 5) mid = env.snapshot();
          hashes.push(env.stateHash());
        }
        env.restore(mid!);
        for (let t = 6; t < 12; t++) env.step(actions[t]!);
        return { hashes, replay: env.stateHash() };
      } finally {
        env.dispose();
      }
    };
    const a = run(3), b = run(3), c = run(4);
    expect(a.hashes).toEqual(b.hashes);
    expect(a.replay).toBe(a.hashes[11]);
    expect(c.hashes[11]).not.toBe(a.hashes[11]);
  });

  it('optional depth: robot/reach with depth.enabled passes checkEnv and sees the robot', () => {
    checkEnv(() => makeEnv('robot/reach', { 'robot.urdf': 'planar_2link', 'depth.enabled': true }), { seed: 2, steps: 6 });
    // Camera straight above the base, looking down: the centre ray hits the robot (0.1–0.92 m up at any pose)
    // before the ground, already in the reset frame.
    const env = makeEnv('robot/reach', { 'robot.urdf': 'planar_2link', 'depth.enabled': true, 'depth.eyeM': [0.001, 2, 0], 'depth.lookAtM': [0, 0, 0] });
    try {
      const { obs } = env.reset({ seed: 1 });
      const d = obs['observation.depth'] as Float32Array;
      const cfg = defaultConfig();
      expect(d.length).toBe(cfg.depth.widthPx * cfg.depth.heightPx);
      const c = d[(cfg.depth.heightPx / 2) * cfg.depth.widthPx + cfg.depth.widthPx / 2]!;
      expect(c).toBeGreaterThan(2 - 0.93);
      expect(c).toBeLessThan(1.91); // at least the base box (0.1 m tall) is hit (the ray is half a pixel off-axis)
      // Pixels off the robot see the ground, 2 m away (within the ray's slant).
      expect(d[0]!).toBeGreaterThan(2);
    } finally {
      env.dispose();
    }
  });

  it('a gain-table entry replaces the default PD gains of that joint', () => {
    const dflt = robotFor('planar_2link');
    const custom = robotFor('planar_2link', { gains: { elbow: { stiffness: 12, damping: 0.7 } } });
    const e0 = dflt.joints.find((j) => j.name === 'elbow')!, e1 = custom.joints.find((j) => j.name === 'elbow')!;
    // Defaults from <limit effort="15" velocity="3"> and <dynamics damping="0.1">.
    expect(e0.gains.stiffness).toBeCloseTo(15 / defaultConfig().robot.saturationError, 9);
    expect(e0.gains.damping).toBeCloseTo((defaultConfig().robot.dampingFactor * 15) / 3 + 0.1, 9);
    expect(e1.gains).toEqual({ stiffness: 12, damping: 0.7 });
    expect(() => robotFor('planar_2link', { gains: { wrist: { stiffness: 1, damping: 1 } } })).toThrow(/gain table names joint 'wrist'/);
  });

  it('a mesh that cannot be read is skipped with one warning line; the rest of the robot is built', () => {
    const dir = join(tmp, 'meshwarn');
    mkdirSync(join(dir, 'meshes'), { recursive: true });
    copyFileSync(join(urdfPath('arm6_gripper'), '..', 'meshes', 'palm.obj'), join(dir, 'meshes', 'palm.obj'));
    const file = join(dir, 'r.urdf');
    writeFileSync(file, `<robot name="r"><link name="base"/>
<joint name="j" type="revolute"><parent link="base"/><child link="a"/><axis xyz="0 0 1"/><limit lower="-1" upper="1" effort="5" velocity="1"/></joint>
<link name="a"><inertial><mass value="0.5"/><inertia ixx="0.001" iyy="0.001" izz="0.001"/></inertial>
  <collision><geometry><mesh filename="meshes/palm.obj"/></geometry></collision>
  <collision><geometry><mesh filename="meshes/cover.dae"/></geometry></collision>
  <collision><geometry><mesh filename="package://r/meshes/missing.stl"/></geometry></collision>
</link></robot>`);
    const robot = loadRobot(file, buildOptions(defaultConfig()));
    expect(robot.warnings.length).toBe(2);
    for (const w of robot.warnings) expect(w.split('\n').length).toBe(1);
    expect(robot.warnings[0]).toMatch(/line 5: <link name="a">: mesh 'meshes\/cover\.dae' skipped: \.dae meshes are not read/);
    expect(robot.warnings[1]).toMatch(/<link name="a">: mesh 'package:\/\/r\/meshes\/missing\.stl' skipped: .*not found/);
    withWorld((world) => {
      const h = buildRobot(world, robot, [0]);
      expect(h.colliders[1]!.length).toBe(1); // the convex hull of palm.obj
      expect(world.getCollider(h.colliders[1]![0]!).shape.type).toBe(9); // ConvexPolyhedron
    });
  });
});

describe('mesh search folders', () => {
  it('package:// meshes are found under robot.meshDir (<dir>/<package>/<path>) and missed without it', () => {
    const lib = join(tmp, 'meshlib', 'my_pkg', 'meshes');
    mkdirSync(lib, { recursive: true });
    copyFileSync(join(urdfPath('arm6_gripper'), '..', 'meshes', 'forearm.obj'), join(lib, 'forearm.obj'));
    const dir = join(tmp, 'alone');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'r.urdf');
    writeFileSync(file, `<robot name="r"><link name="base"/>
<joint name="j" type="revolute"><parent link="base"/><child link="a"/><axis xyz="0 1 0"/><limit lower="-1" upper="1" effort="5" velocity="1"/></joint>
<link name="a"><inertial><mass value="0.5"/><inertia ixx="0.001" iyy="0.001" izz="0.001"/></inertial>
  <visual><geometry><mesh filename="package://my_pkg/meshes/forearm.obj"/></geometry></visual>
  <collision><geometry><mesh filename="package://my_pkg/meshes/forearm.obj"/></geometry></collision></link></robot>`);
    const cfg = defaultConfig();
    const without = loadRobot(file, buildOptions(cfg));
    expect(without.warnings.length).toBe(1);
    cfg.robot.meshDir = join(tmp, 'meshlib');
    const withDir = loadRobot(file, buildOptions(cfg));
    expect(withDir.warnings).toEqual([]);
    const env = makeEnv('robot/reach', { 'robot.urdf': file, 'robot.meshDir': join(tmp, 'meshlib') });
    try {
      env.reset({ seed: 0 });
      expect(env.renderScene().visuals.filter((v) => v.shape.kind === 'mesh').map((v) => v.name)).toEqual(['a']);
    } finally {
      env.dispose();
    }
  });
});

describe('floating bases', () => {
  it('robot.fixedBase=false: the root is a free body that falls onto the ground and rests there', () => {
    const file = join(tmp, 'floating.urdf');
    writeFileSync(file, `<robot name="cart">
<link name="base"><inertial><mass value="5"/><inertia ixx="0.05" iyy="0.05" izz="0.08"/></inertial>
  <collision><geometry><box size="0.4 0.3 0.1"/></geometry></collision></link>
<joint name="mast" type="revolute"><parent link="base"/><child link="pole"/><origin xyz="0 0 0.05"/><axis xyz="0 1 0"/>
  <limit lower="-1" upper="1" effort="20" velocity="2"/></joint>
<link name="pole"><inertial><origin xyz="0 0 0.15"/><mass value="0.5"/><inertia ixx="0.004" iyy="0.004" izz="0.0002"/></inertial>
  <collision><origin xyz="0 0 0.15"/><geometry><box size="0.03 0.03 0.3"/></geometry></collision></link>
</robot>`);
    const env = makeEnv('robot/reach', { 'robot.urdf': file, 'robot.fixedBase': false, 'robot.basePositionM': [0, 0.3, 0] });
    try {
      env.reset({ seed: 0 });
      for (let t = 0; t < 30; t++) env.step(new Float32Array(1));
      const h = env.state as { handles: { bodies: number[] } };
      const base = env.physicsWorld.getRigidBody(h.handles.bodies[0]!);
      expect(base.isDynamic()).toBe(true);
      expect(base.translation().y).toBeCloseTo(0.05, 2); // the 0.1 m box lies on the ground
      expect(Math.hypot(base.linvel().x, base.linvel().y, base.linvel().z)).toBeLessThan(0.02);
    } finally {
      env.dispose();
    }
    // A massless root cannot float: refused with one line.
    expect(() => makeEnv('robot/reach', { 'robot.urdf': 'planar_2link', 'robot.fixedBase': false }))
      .toThrow(/^urdf \S+planar_2link\.urdf: line 6: <link name="base_link">: a floating base needs mass/);
  });
});

describe('malformed URDFs: one line naming the element', () => {
  const link = (n: string, mass = '1') => `<link name="${n}"><inertial><mass value="${mass}"/><inertia ixx="0.01" iyy="0.01" izz="0.01"/></inertial></link>`;
  const rev = (n: string, p: string, c: string) => `<joint name="${n}" type="revolute"><parent link="${p}"/><child link="${c}"/><axis xyz="0 0 1"/><limit lower="-1" upper="1" effort="5" velocity="1"/></joint>`;
  const cases: [string, string, RegExp][] = [
    ['missing parent', `<robot name="r">${link('a')}${link('b')}${rev('j1', 'nope', 'b')}</robot>`, /line 1: <joint name="j1">: parent link 'nope' is not defined/],
    ['joint loop', `<robot name="r">${link('base')}${link('a')}${link('b')}${rev('j1', 'base', 'a')}${rev('j2', 'a', 'b')}${rev('j3', 'b', 'a')}</robot>`, /<joint name="j3">: link 'a' is already the child of joint 'j1' \(a URDF is a tree: joint loops are not allowed\)/],
    ['joint cycle off the root', `<robot name="r">${link('base')}${link('a')}${link('b')}${rev('j2', 'a', 'b')}${rev('j3', 'b', 'a')}</robot>`, /<joint name="j2">: is part of a joint loop \(j2 → j3\)/],
    ['NaN inertia', `<robot name="r">${link('base')}<link name="a"><inertial><mass value="1"/><inertia ixx="NaN" iyy="0.01" izz="0.01"/></inertial></link>${rev('j', 'base', 'a')}</robot>`, /line 1: <inertia>: attribute ixx="NaN" is not a finite number/],
    ['zero mass on a moving link', `<robot name="r">${link('base')}${link('a', '0')}${rev('j', 'base', 'a')}</robot>`, /<link name="a">: zero mass on a moving link \(it is the child of revolute joint 'j'/],
    ['moving link without inertial', `<robot name="r">${link('base')}<link name="a"/>${rev('j', 'base', 'a')}</robot>`, /<link name="a">: zero mass on a moving link/],
    ['unknown tag', `<robot name="r">${link('base')}<link name="a"><inertial><mass value="1"/><inertia ixx="0.01" iyy="0.01" izz="0.01"/></inertial><sensor/></link></robot>`, /<sensor>: unknown tag inside <link name="a">/],
    ['unknown geometry', `<robot name="r"><link name="a"><collision><geometry><capsule radius="1" length="1"/></geometry></collision></link></robot>`, /<capsule>: unknown tag inside <geometry>/],
    ['not XML', `<robot name="r"><link name="a"></robot>`, /not well-formed XML/],
    ['not a robot', `<model name="r"/>`, /the root element must be <robot>, got <model>/],
    ['floating joint', `<robot name="r">${link('base')}${link('a')}<joint name="free" type="floating"><parent link="base"/><child link="a"/></joint></robot>`, /<joint name="free">: type 'floating' is not supported/],
    ['mimic of an unknown joint', `<robot name="r">${link('base')}${link('a')}<joint name="j" type="revolute"><parent link="base"/><child link="a"/><limit lower="-1" upper="1" effort="5" velocity="1"/><mimic joint="ghost"/></joint></robot>`, /<joint name="j">: mimics joint 'ghost', which is not defined/],
    ['revolute without limit', `<robot name="r">${link('base')}${link('a')}<joint name="j" type="revolute"><parent link="base"/><child link="a"/></joint></robot>`, /<joint name="j">: a revolute joint needs <limit/],
    ['inverted limits', `<robot name="r">${link('base')}${link('a')}<joint name="j" type="prismatic"><parent link="base"/><child link="a"/><limit lower="1" upper="-1" effort="5" velocity="1"/></joint></robot>`, /<limit>: upper \(-1\) must be greater than lower \(1\)/],
    ['non-physical inertia', `<robot name="r"><link name="a"><inertial><mass value="1"/><inertia ixx="0.01" iyy="0.01" izz="0.5"/></inertial></link></robot>`, /<inertia>: inertia violates the triangle inequality/],
    ['negative mass', `<robot name="r"><link name="a"><inertial><mass value="-2"/><inertia ixx="0.01" iyy="0.01" izz="0.01"/></inertial></link></robot>`, /<mass>: mass must be ≥ 0, got -2/],
    ['two roots', `<robot name="r">${link('a')}${link('b')}</robot>`, /2 root links \(a, b\)/],
    ['bad xyz', `<robot name="r">${link('base')}${link('a')}<joint name="j" type="fixed"><parent link="base"/><child link="a"/><origin xyz="0 0"/></joint></robot>`, /<origin>: attribute xyz="0 0" must be 3 finite numbers/],
  ];
  for (const [what, xml, re] of cases) {
    it(what, () => {
      let msg = '';
      try { parseUrdf(xml, 'bad.urdf'); } catch (e) { msg = (e as Error).message; }
      expect(msg).toMatch(/^urdf bad\.urdf: /);
      expect(msg).toMatch(re);
      expect(msg.includes('\n')).toBe(false);
    });
  }
});

describe('snapshots do not depend on where the robot lives', () => {
  it('the same URDF from two folders gives the same snapshot hash', () => {
    const hashOf = (file: string) => {
      const env = makeEnv('robot/reach', { 'robot.urdf': file });
      try {
        env.reset({ seed: 9 });
        for (let t = 0; t < 5; t++) env.step(env.expert().act());
        return env.stateHash();
      } finally {
        env.dispose();
      }
    };
    const a = join(tmp, 'copyA'), b = join(tmp, 'deeper', 'copyB');
    for (const d of [a, b]) { mkdirSync(d, { recursive: true }); copyFileSync(urdfPath('slider_spinner'), join(d, 'r.urdf')); }
    // Each copy loaded as 'r.urdf' from its own folder (a recording replayed in another checkout): no absolute path
    // may reach the snapshot.
    const cwd = process.cwd();
    try {
      process.chdir(a); const ha = hashOf('r.urdf');
      process.chdir(b); const hb = hashOf('r.urdf');
      expect(ha).toBe(hb);
    } finally {
      process.chdir(cwd);
    }
  });
});
