import { beforeAll, describe, expect, it } from 'vitest';
import { ACTION, OBS_GOAL, OBS_STATE, builtinPolicy, checkEnv, featureSize, runEpisode } from '../../sim/core/index.ts';
import { initPhysics } from '../../sim/physics/index.ts';
import { makeEnv } from '../../scenes/index.ts';
import { GOAL_LAYOUT, GOAL_SIZE, setKinematicFrame, trackingTerms, type HoiConfig, type HoiState } from '../../scenes/humanoid/hoi.ts';
import { NUM_DOFS } from '../../scenes/humanoid/skeleton.ts';
import type { WalkState } from '../../scenes/humanoid/walk.ts';

beforeAll(async () => { await initPhysics(); });

describe('humanoid scenes', () => {
  it.each(['humanoid/walk', 'humanoid/hoi'])('%s passes the env contract', (id) => {
    const r = checkEnv(() => makeEnv(id), { steps: 12 });
    expect(r.steps).toBeGreaterThan(0);
  });

  it('has 21 actuated DoF and the documented observation sizes', () => {
    const w = makeEnv('humanoid/walk');
    const h = makeEnv('humanoid/hoi');
    try {
      expect(featureSize(w.actionFeatures[ACTION]!)).toBe(21);
      expect(featureSize(w.observationFeatures[OBS_STATE]!)).toBe(60);
      expect(featureSize(h.observationFeatures[OBS_STATE]!)).toBe(77);
      expect(featureSize(h.observationFeatures[OBS_GOAL]!)).toBe(GOAL_SIZE);
    } finally { w.dispose(); h.dispose(); }
  });

  it('stands for 2 s with zero action (PD holds the default pose)', () => {
    const env = makeEnv('humanoid/walk');
    try {
      env.reset({ seed: 3 });
      const steps = Math.ceil(2.0 / env.ctrlDtSec);
      let last = env.step(new Float32Array(21));
      for (let t = 1; t < steps; t++) {
        last = env.step(new Float32Array(21));
        expect(last.terminated, `fell at step ${t}`).toBe(false);
      }
      const s = last.obs[OBS_STATE] as Float32Array;
      expect(s[0]).toBeGreaterThan(0.9); // pelvis height (default 0.96 m)
      expect(s[5]).toBeGreaterThan(0.97); // root up-axis y (upright)
      const st = env.state as WalkState;
      expect(Math.max(...Array.from(st.hum.$s!.q, Math.abs))).toBeLessThan(0.15); // joints near the default pose
    } finally { env.dispose(); }
  });

  it('a sharp push makes it fall and terminate with the fall reason', () => {
    const env = makeEnv('humanoid/walk', { 'humanoid.push.atStep': 4, 'humanoid.push.impulseNs': [0, 220], 'humanoid.push.bodies': ['torso'] });
    try {
      env.reset({ seed: 3 });
      let reason: unknown = null, t = 0;
      for (; t < 120; t++) {
        const r = env.step(new Float32Array(21));
        if (r.terminated || r.truncated) { expect(r.terminated).toBe(true); reason = r.info.reason; break; }
      }
      expect(reason).toBe('fell');
      expect(t).toBeGreaterThan(4);
    } finally { env.dispose(); }
  });

  it('a reference clip replayed kinematically scores the maximum tracking reward; a perturbed one scores less', () => {
    for (const kind of ['lift', 'push']) {
      const env = makeEnv('humanoid/hoi', { clipKind: kind });
      try {
        env.reset({ seed: 11 });
        const world = env.physicsWorld, h = env.state as HoiState, cfg = env.config as HoiConfig;
        const len = h.$clip!.clip.length;
        let contactFrames = 0;
        for (let f = 0; f < len; f += 7) {
          setKinematicFrame(world, h, cfg, f);
          const t = trackingTerms(world, h, cfg, f);
          for (const [k, v] of Object.entries(t)) expect(v, `${kind} frame ${f} ${k}`).toBeGreaterThan(0.999);
          if (h.$clip!.clip.contact[f * 2]) contactFrames++;
        }
        expect(contactFrames).toBeGreaterThan(3); // the clip really touches the box
        // Perturbed replay: joint angles off by ±0.2 rad ⇒ every frame scores less, and the sum drops.
        const noise = Array.from({ length: NUM_DOFS }, (_, i) => (i % 2 ? 0.2 : -0.2));
        for (let f = 0; f < len; f += 13) {
          setKinematicFrame(world, h, cfg, f, noise);
          const t = trackingTerms(world, h, cfg, f);
          const sum = Object.values(t).reduce((a, b) => a + b, 0);
          expect(t.jointPose).toBeLessThan(0.5);
          expect(t.endEffector).toBeLessThan(0.9);
          expect(sum).toBeLessThan(4.5);
        }
      } finally { env.dispose(); }
    }
  });

  it('the hoi tracking expert succeeds in every held-out set, and beats the zero policy there (success and return)', () => {
    // Measured on seeds 100–107: seen 4/8, unseen-goals 1/8, unseen-inits 6/8, recovery 3/8 (scenes/humanoid/README.md).
    const N = 8;
    for (const set of ['seen', 'unseen-goals', 'unseen-inits', 'recovery']) {
      const env = makeEnv('humanoid/hoi', { evalSet: set });
      try {
        let kExpert = 0, kZero = 0, rExpert = 0, rZero = 0;
        for (let i = 0; i < N; i++) {
          const e = runEpisode(env, 100 + i, (en) => { const ex = en.expert(); return () => ex.act(); });
          const z = runEpisode(env, 100 + i, builtinPolicy('zero'));
          if (e.success) kExpert++;
          if (z.success) kZero++;
          rExpert += e.return / N; rZero += z.return / N;
        }
        expect(kExpert, `${set}: expert successes`).toBeGreaterThanOrEqual(1);
        expect(kExpert, `${set}: expert vs zero successes`).toBeGreaterThan(kZero);
        expect(rExpert, `${set}: expert vs zero return`).toBeGreaterThan(rZero);
      } finally { env.dispose(); }
    }
  });

  it('goal masking produces the documented layout (masked parts zero, mask bits set)', () => {
    const masks: [number, number, number][] = [[0, 0, 0], [1, 0, 1], [0, 1, 0], [1, 1, 1]];
    for (const m of masks) {
      const env = makeEnv('humanoid/hoi', { 'goal.fixedMask': m, clipKind: 'lift' });
      try {
        // Step into the contact phase so the contact goal is non-zero when present.
        env.reset({ seed: 5 });
        let g: Float32Array<ArrayBuffer> = new Float32Array(0);
        const ex = env.expert();
        for (let t = 0; t < 70; t++) g = env.step(ex.act()).obs[OBS_GOAL] as Float32Array<ArrayBuffer>;
        expect(Array.from(g.slice(...GOAL_LAYOUT.mask))).toEqual(m);
        const parts = [GOAL_LAYOUT.snapshot, GOAL_LAYOUT.trajectory, GOAL_LAYOUT.contact] as const;
        parts.forEach((range, k) => {
          const slot = Array.from(g.slice(...range));
          if (m[k]) expect(slot.every((v) => v === 0), `kind ${k} masked ⇒ zeros`).toBe(true);
          else expect(slot.some((v) => v !== 0), `kind ${k} present ⇒ values`).toBe(true);
        });
      } finally { env.dispose(); }
    }
  });
});

describe('humanoid motion library', () => {
  it('writes seeded clips as a dataset whose clip i is the hoi episode with seed S + i', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { writeMotionLibrary } = await import('../../scenes/humanoid/motion_library.ts');
    const { readDataset } = await import('../../sim/data/dataset.ts');
    const root = mkdtempSync(join(tmpdir(), 'stride-motions-'));
    try {
      const dir = join(root, 'lib');
      writeMotionLibrary(dir, { numClips: 3, seed: 40, evalSet: 'seen', clipKind: 'any' });
      const ds = await readDataset(dir);
      expect(ds.info.numEpisodes).toBe(3);
      expect(ds.episodes[1]!.seed).toBe(41);
      expect(['lift', 'push']).toContain(ds.episodes[1]!.labels.kind);
      const env = makeEnv('humanoid/hoi');
      try {
        env.reset({ seed: 41 });
        const clip = (env.state as HoiState).$clip!.clip;
        const start = ds.episodeEnds[0]!;
        expect(ds.episodes[1]!.length).toBe(clip.length);
        const q = ds.columns['reference.joint_angles'] as Float32Array;
        for (const f of [0, 60, 120]) for (let i = 0; i < NUM_DOFS; i++) expect(q[(start + f) * NUM_DOFS + i]).toBeCloseTo(clip.q[f * NUM_DOFS + i]!, 5);
        const contacts = ds.columns['reference.contacts'] as Float32Array;
        expect(contacts.slice(start * 2, (start + clip.length) * 2).some((v) => v === 1)).toBe(true);
      } finally { env.dispose(); }
    } finally { rmSync(root, { recursive: true, force: true }); }
  });
});
