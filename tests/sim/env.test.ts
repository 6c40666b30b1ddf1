/** SceneEnv behaviour on the toy scene: snapshot/restore bit-exactness, bad actions, divergence, overrides, expert. */
import { beforeAll, describe, expect, it } from 'vitest';
import { initPhysics } from '../../sim/physics/index.ts';
import { makeEnv } from '../../scenes/index.ts';
import { runEpisode, applyOverrides, defineScene, SceneEnv, ACTION, OBS_STATE } from '../../sim/core/index.ts';
import { addBody, addCollider, addGround } from '../../sim/physics/index.ts';
import { Rng } from '../../sim/math/rng.ts';

beforeAll(async () => { await initPhysics(); });

const ID = 'toy/point_reach';

function actions(n: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Float32Array.of(rng.uniform(-1, 1), rng.uniform(-1, 1)));
}

describe('SceneEnv', () => {
  it('restore() reproduces the exact future, many times from the same snapshot', () => {
    const env = makeEnv(ID);
    const acts = actions(30, 5);
    env.reset({ seed: 3 });
    for (let t = 0; t < 10; t++) env.step(acts[t]!);
    const snap = env.snapshot();
    const hashAt10 = env.stateHash();
    const obsTrail: number[][] = [];
    for (let t = 10; t < 30; t++) obsTrail.push(Array.from(env.step(acts[t]!).obs[OBS_STATE]!));
    const final = env.stateHash();
    for (let k = 0; k < 3; k++) {
      env.restore(snap);
      expect(env.stateHash()).toBe(hashAt10);
      for (let t = 10; t < 30; t++) expect(Array.from(env.step(acts[t]!).obs[OBS_STATE]!)).toEqual(obsTrail[t - 10]);
      expect(env.stateHash()).toBe(final);
    }
    env.dispose();
  });

  it('restores into a different env instance', () => {
    const a = makeEnv(ID), b = makeEnv(ID);
    a.reset({ seed: 9 });
    b.reset({ seed: 1234 });
    for (const act of actions(5, 1)) a.step(act);
    b.restore(a.snapshot());
    expect(b.stateHash()).toBe(a.stateHash());
    const act = Float32Array.of(0.3, -0.7);
    expect(Array.from(b.step(act).obs[OBS_STATE]!)).toEqual(Array.from(a.step(act).obs[OBS_STATE]!));
    a.dispose(); b.dispose();
  });

  it('different seeds give different initial states', () => {
    const env = makeEnv(ID);
    env.reset({ seed: 1 }); const h1 = env.stateHash();
    env.reset({ seed: 2 }); const h2 = env.stateHash();
    env.reset({ seed: 1 }); const h3 = env.stateHash();
    expect(h1).not.toBe(h2);
    expect(h3).toBe(h1);
    env.dispose();
  });

  it('rejects wrong-length and non-finite actions with a clear error', () => {
    const env = makeEnv(ID);
    env.reset({ seed: 0 });
    expect(() => env.step(new Float32Array(3))).toThrow(/action has 3 elements, expected 2/);
    expect(() => env.step(Float32Array.of(0, Infinity))).toThrow(/action element 1 is not finite/);
    expect(() => env.step([0, 0] as unknown as Float32Array)).toThrow(/Float32Array/);
    env.dispose();
  });

  it('clamps actions to the declared bounds', () => {
    const a = makeEnv(ID), b = makeEnv(ID);
    a.reset({ seed: 4 }); b.reset({ seed: 4 });
    a.step(Float32Array.of(5, -9));
    b.step(Float32Array.of(1, -1));
    expect(a.stateHash()).toBe(b.stateHash());
    a.dispose(); b.dispose();
  });

  it('rejects bad snapshots', () => {
    const env = makeEnv(ID);
    env.reset({ seed: 0 });
    const s = env.snapshot();
    expect(() => env.restore(s.slice(0, 8))).toThrow(/truncated/);
    const bad = s.slice(); bad[0] = 0;
    expect(() => env.restore(bad)).toThrow(/not a Stride snapshot/);
    env.dispose();
  });

  it('ends an exploding episode as truncated with reason physics-diverged', () => {
    // A scene whose positive action flings the body 10⁶ km away, as a blown-up solver would (Rapier itself zeroes NaN/inf velocities).
    const boom = defineScene({
      id: 'test/boom', family: 'toy', description: 'diverges on demand',
      defaultConfig: () => ({ ctrlDtSec: 0.02, simDtSec: 0.01, maxSteps: 50, terminateOnSuccess: false, reward: { scales: { alive: 1 } } }),
      features: () => ({ observation: { [OBS_STATE]: { kind: 'state', shape: [1], dtype: 'float32' } }, action: { [ACTION]: { kind: 'action', shape: [1], dtype: 'float32' } } }),
      build(world) { addGround(world); const b = addBody(world, { p: { x: 0, y: 1, z: 0 } }); addCollider(world, b, { kind: 'sphere', radiusM: 0.1 }); return { b: b.handle }; },
      applyAction(world, h, a) { if (a[0]! > 0) world.getRigidBody(h.b).setTranslation({ x: 1e9, y: 0, z: 0 }, true); },
      observe(world, h) { return { [OBS_STATE]: Float32Array.of(world.getRigidBody(h.b).translation().y) }; },
      rewardTerms: () => ({ alive: 1 }), isSuccess: () => false, terminalReason: () => null,
    });
    const env = new SceneEnv(boom);
    env.reset({ seed: 0 });
    expect(env.step(Float32Array.of(0)).truncated).toBe(false);
    const r = env.step(Float32Array.of(1));
    expect(r.truncated).toBe(true);
    expect(r.terminated).toBe(false);
    expect(r.info.reason).toBe('physics-diverged');
    env.dispose();
  });

  it('applies dotted-path overrides and rejects unknown or mistyped ones', () => {
    const env = makeEnv(ID, { goalToleranceM: 0.3, 'reward.scales.progress': '5' });
    expect((env.config as unknown as { goalToleranceM: number }).goalToleranceM).toBe(0.3);
    expect(env.config.reward.scales.progress).toBe(5);
    expect(() => makeEnv(ID, { goalTolerance: 1 })).toThrow(/unknown option 'goalTolerance'/);
    expect(() => makeEnv(ID, { goalToleranceM: 'far' })).toThrow(/expects number/);
    expect(() => applyOverrides({ a: { b: 1 } }, { 'a.b.c': 1 })).toThrow(/unknown option/);
    expect(() => makeEnv('toy/nope')).toThrow(/unknown scene 'toy\/nope' \(known: .*toy\/point_reach/);
  });

  it('the scripted expert solves point_reach and the reward terms are logged', () => {
    const env = makeEnv(ID);
    let successes = 0;
    for (let s = 0; s < 20; s++) {
      const ep = runEpisode(env, 100 + s, (e) => { const x = e.expert(); return () => x.act(); });
      if (ep.success) successes++;
      expect(ep.metrics['reward/progress']).toBeGreaterThan(0);
      expect(ep.reason).toMatch(/success|time-limit/);
    }
    expect(successes).toBeGreaterThanOrEqual(19);
    // The zero policy never reaches a goal at least 0.5 m away.
    const z = runEpisode(env, 100, () => () => new Float32Array(2));
    expect(z.success).toBe(false);
    expect(z.length).toBe(env.config.maxSteps);
    expect(z.reason).toBe('time-limit');
    env.dispose();
  });
});
