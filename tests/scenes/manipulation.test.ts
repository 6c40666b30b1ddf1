/**
 * Manipulation scenes: shifts change only their modality, the batched depth renderer agrees with Rapier's castRay,
 * real friction grasps (the block is lifted by the fingers' friction), and `stride demos` datasets read back with
 * identical episodes and stats. Expert success rates are in manipulation_experts.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initPhysics, rapier } from '../../sim/physics/index.ts';
import { makeEnv } from '../../scenes/index.ts';
import { ACTION, OBS_DEPTH, OBS_OBJECT, OBS_STATE, OBS_TACTILE, featureSize, type Observation } from '../../sim/core/index.ts';
import { DepthCamera } from '../../sim/sensors/index.ts';
import { rotate } from '../../sim/math/vec.ts';
import { GROUPS } from '../../scenes/manipulation/arm.ts';
import { cameraPose } from '../../scenes/manipulation/common.ts';
import { BatchedDepthCamera } from '../../sim/sensors/index.ts';
import { computeStats, readDataset } from '../../sim/data/dataset.ts';
import { execFile } from 'node:child_process';
import { STRIDE, ROOT } from '../helpers.ts';

/** The real CLI in a child process, asynchronously (a spawnSync would block this worker's RPC for the whole run). */
function strideAsync(args: string[], timeoutMs = 300_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [STRIDE, ...args], { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => { await initPhysics(); });

/** Run the expert on `id` (no overrides) for `steps`, returning its actions. */
function expertActions(id: string, seed: number, steps: number): Float32Array[] {
  const env = makeEnv(id);
  try {
    env.reset({ seed });
    const ex = env.expert();
    const out: Float32Array[] = [];
    for (let t = 0; t < steps; t++) {
      const a = ex.act();
      out.push(a);
      const r = env.step(a);
      if (r.terminated || r.truncated) break;
    }
    return out;
  } finally {
    env.dispose();
  }
}

function replay(id: string, overrides: Record<string, unknown>, seed: number, actions: Float32Array[]): Observation[] {
  const env = makeEnv(id, overrides);
  try {
    const obs: Observation[] = [env.reset({ seed }).obs];
    for (const a of actions) obs.push(env.step(a).obs);
    return obs;
  } finally {
    env.dispose();
  }
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));

describe('manipulation shifts change only the camera', () => {
  const id = 'manip/pick_place';
  const seed = 5;
  let actions: Float32Array[];
  let base: Observation[];
  beforeAll(() => {
    actions = expertActions(id, seed, 45); // approach, descend, close, lift: contacts included
    base = replay(id, {}, seed, actions);
  });
  for (const [name, overrides] of [
    ['distractors', { 'shift.distractors': 5 }],
    ['occlusion', { 'shift.occlusion': 0.5 }],
    ['cameraJitter', { 'shift.cameraJitter': 0.02 }],
  ] as const) {
    it(`${name}: proprio, tactile and object observations are bit-identical; depth differs`, () => {
      const shifted = replay(id, overrides, seed, actions);
      expect(shifted.length).toBe(base.length);
      let depthDiffers = 0;
      for (let t = 0; t < base.length; t++) {
        for (const k of [OBS_STATE, OBS_TACTILE, OBS_OBJECT]) {
          if (!same(base[t]![k]!, shifted[t]![k]!)) throw new Error(`${name}: ${k} differs at step ${t}`);
        }
        if (!same(base[t]![OBS_DEPTH]!, shifted[t]![OBS_DEPTH]!)) depthDiffers++;
      }
      expect(depthDiffers).toBeGreaterThan(base.length / 3);
      if (name === 'occlusion') {
        const blank = shifted.filter((o) => Array.from(o[OBS_DEPTH]!).every((v) => v === 0)).length;
        expect(blank / shifted.length).toBeGreaterThan(0.25);
        expect(blank / shifted.length).toBeLessThan(0.75);
      }
    });
  }
  it('distractors are visible: they raise the depth image (nearer surfaces) somewhere off the arm', () => {
    const shifted = replay(id, { 'shift.distractors': 5 }, seed, actions.slice(0, 1));
    const a = base[0]![OBS_DEPTH]!, b = shifted[0]![OBS_DEPTH]!;
    let nearer = 0;
    for (let i = 0; i < a.length; i++) if (b[i]! < a[i]! - 0.008) nearer++;
    expect(nearer).toBeGreaterThan(3);
  });
});

describe('batched depth camera', () => {
  it('matches Rapier castRay pixel by pixel (exactly on boxes; cylinders within parry\'s approximation)', () => {
    const env = makeEnv('manip/play', { 'shift.distractors': 6 });
    try {
      env.reset({ seed: 2 });
      const ex = env.expert();
      for (let t = 0; t < 30; t++) env.step(ex.act());
      const world = env.physicsWorld;
      const R = rapier();
      const cc = { widthPx: 32, heightPx: 32, fovDeg: 45, maxRangeM: 1.5, noiseStdM: 0 };
      const base = cameraPose((env.config as unknown as { camera: Parameters<typeof cameraPose>[0] }).camera);
      for (const p of [base.p, { x: 0.25, y: 0.45, z: 0.05 }]) {
        const fast = new BatchedDepthCamera(cc).render(world, p, base.q, undefined, undefined, GROUPS.cameraRay);
        const ref = new DepthCamera(cc).render(world, p, base.q, undefined, undefined, GROUPS.cameraRay);
        const tanY = Math.tan((cc.fovDeg * Math.PI) / 360);
        let boxPixels = 0, close = 0;
        for (let i = 0; i < fast.length; i++) {
          if (Math.abs(fast[i]! - ref[i]!) < 2e-3) close++;
          // Which shape does Rapier hit? Boxes (cuboids) and misses must agree to 1e-4 m.
          const c = i % 32, r = Math.floor(i / 32);
          const x = ((c + 0.5) / 32 * 2 - 1) * tanY, y = (1 - (r + 0.5) / 32 * 2) * tanY, n = Math.hypot(x, y, 1);
          const d = rotate(base.q, { x: x / n, y: y / n, z: -1 / n });
          const hit = world.castRay(new R.Ray(p, d), cc.maxRangeM, true, R.QueryFilterFlags.EXCLUDE_SENSORS, GROUPS.cameraRay);
          const type = hit ? (world.getCollider(hit.collider.handle).shape as unknown as { type: number }).type : -1;
          if (type === -1 || type === R.ShapeType.Cuboid) {
            boxPixels++;
            expect(Math.abs(fast[i]! - ref[i]!)).toBeLessThan(1e-4);
          }
        }
        expect(boxPixels).toBeGreaterThan(fast.length * 0.7);
        expect(close / fast.length).toBeGreaterThan(0.97);
      }
    } finally {
      env.dispose();
    }
  });
});

describe('friction grasp', () => {
  it('pick_place: the cube is lifted off the table by the finger pads alone (no attachment), both pads loaded', () => {
    const env = makeEnv('manip/pick_place');
    try {
      env.reset({ seed: 9 });
      const ex = env.expert();
      let lifted = false;
      for (let t = 0; t < 120 && !lifted; t++) {
        const r = env.step(ex.act());
        const obj = r.obs[OBS_OBJECT]!, tac = r.obs[OBS_TACTILE]!;
        if (obj[1]! > 0.09) {
          lifted = true;
          expect(tac[0]!).toBeGreaterThan(1);
          expect(tac[1]!).toBeGreaterThan(1);
          expect(r.metrics.grasped).toBe(1);
          // No joints other than the arm's: the cube is a free body held by contact forces.
          expect(env.physicsWorld.impulseJoints.len()).toBe(6);
        }
      }
      expect(lifted).toBe(true);
    } finally {
      env.dispose();
    }
  });
});

describe('stride demos on a manipulation scene', () => {
  it('writes a dataset that reads back with identical episodes and stats, and refuses to overwrite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stride-manip-demos-'));
    const out = join(dir, 'ds');
    try {
      const r = await strideAsync(['demos', '--scene', 'manip/push_block', '--episodes', '2', '--seed', '3', '--out', out, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const ds = await readDataset(out);
      expect(ds.info.sceneId).toBe('manip/push_block');
      expect(ds.episodes.map((e) => e.seed)).toEqual([3, 4]);
      // Re-run the same episodes in-process: every frame of every feature is identical.
      const env = makeEnv('manip/push_block');
      try {
        let frame = 0;
        for (const ep of ds.episodes) {
          let { obs } = env.reset({ seed: ep.seed });
          const ex = env.expert();
          for (let t = 0; t < ep.length; t++, frame++) {
            for (const k of Object.keys(env.observationFeatures)) {
              const n = featureSize(env.observationFeatures[k]!);
              if (!same(obs[k]!, ds.columns[k]!.subarray(frame * n, (frame + 1) * n))) throw new Error(`${k} differs at frame ${frame}`);
            }
            const a = ex.act();
            expect(same(a, ds.columns[ACTION]!.subarray(frame * 5, frame * 5 + 5))).toBe(true);
            const s = env.step(a);
            obs = s.obs;
            if (t === ep.length - 1) expect(s.terminated || s.truncated).toBe(true);
          }
          expect(ep.success).toBe(true);
        }
        expect(frame).toBe(ds.info.numFrames);
      } finally {
        env.dispose();
      }
      for (const [k, spec] of Object.entries(ds.info.features)) {
        const st = computeStats(ds.columns[k]!, featureSize(spec));
        expect(ds.stats[k]!.mean).toEqual(st.mean);
        expect(ds.stats[k]!.std).toEqual(st.std);
        expect(ds.stats[k]!.min).toEqual(st.min);
        expect(ds.stats[k]!.max).toEqual(st.max);
      }
      const again = await strideAsync(['demos', '--scene', 'manip/push_block', '--episodes', '1', '--out', out]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/exist/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});

describe('cartesian action space (arm.actionSpace=cartesian)', () => {
  const CART = { 'arm.actionSpace': 'cartesian' };

  it('declares a 4-d [x, y, z, gripper] action and passes checkEnv on every task', async () => {
    const { checkEnv } = await import('../../sim/core/index.ts');
    for (const id of ['manip/push_block', 'manip/pick_place', 'manip/play']) {
      const env = makeEnv(id, CART);
      try {
        expect(env.actionFeatures[ACTION]!.shape).toEqual([4]);
        expect(env.actionFeatures[ACTION]!.names).toEqual(['x', 'y', 'z', 'gripper']);
      } finally {
        env.dispose();
      }
      const r = checkEnv(() => makeEnv(id, CART), { seed: 5, steps: 16 });
      expect(r.steps).toBeGreaterThan(0);
    }
  });

  it('a held cartesian action brings the grasp point to that point (top-down IK under the PD motors)', async () => {
    const { pointToAction } = await import('../../scenes/manipulation/arm.ts');
    const env = makeEnv('manip/pick_place', CART);
    try {
      env.reset({ seed: 3 });
      const cfg = env.config as unknown as { arm: import('../../scenes/manipulation/arm.ts').ArmConfig };
      for (const p of [{ x: 0.4, y: 0.12, z: -0.15 }, { x: 0.3, y: 0.2, z: 0.25 }]) {
        const a = pointToAction(cfg.arm, p, -1);
        let obs = env.step(a).obs;
        for (let t = 0; t < 30; t++) obs = env.step(a).obs;
        const s = obs[OBS_STATE] as Float32Array; // … grasp point = the last 3 entries
        const g = [s[10]!, s[11]!, s[12]!];
        expect(Math.hypot(g[0]! - p.x, g[1]! - p.y, g[2]! - p.z)).toBeLessThan(0.01);
      }
    } finally {
      env.dispose();
    }
  });

  it('the scripted experts act in it: pick_place and play succeed in ≥ 85% of 10 episodes', async () => {
    const { runEpisode } = await import('../../sim/core/index.ts');
    for (const id of ['manip/pick_place', 'manip/play']) {
      const env = makeEnv(id, CART);
      let ok = 0;
      try {
        for (let i = 0; i < 10; i++) {
          await new Promise((r) => setImmediate(r));
          const ep = runEpisode(env, 200 + i, (e) => { const x = e.expert(); return () => { const a = x.act(); expect(a.length).toBe(4); return a; }; });
          if (ep.success) ok++;
        }
      } finally {
        env.dispose();
      }
      expect(ok).toBeGreaterThanOrEqual(9);
    }
  }, 300_000);
});
