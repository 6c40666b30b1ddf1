/**
 * The coarse object cue of the manipulation tasks (`objectCue`, `observation.object_cue`): with it on or off every
 * other observation is bit-identical for the same seed and actions; it is the same under every camera shift; its
 * error has the configured per-episode bias std and per-step noise std (within 20 % over 2 000 draws each).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initPhysics } from '../../sim/physics/index.ts';
import { makeEnv } from '../../scenes/index.ts';
import { OBS_OBJECT, type Observation } from '../../sim/core/index.ts';
import { Rng } from '../../sim/math/rng.ts';
import { OBS_OBJECT_CUE, defaultManipConfig, objectCueState, type ManipConfig } from '../../scenes/manipulation/common.ts';

beforeAll(async () => { await initPhysics(); });

const TASK = { 'arm.actionSpace': 'cartesian', objectObs: 'position' };

/** Observations of one episode under fixed pseudo-random actions. */
function rollout(sceneId: string, overrides: Record<string, unknown>, seed: number, steps: number): Observation[] {
  const env = makeEnv(sceneId, overrides);
  try {
    const out: Observation[] = [env.reset({ seed }).obs];
    const rng = new Rng(99);
    for (let t = 0; t < steps; t++) {
      const a = Float32Array.from({ length: 4 }, () => rng.uniform(-0.6, 0.6));
      const r = env.step(a);
      out.push(r.obs);
      if (r.terminated || r.truncated) break;
    }
    return out;
  } finally { env.dispose(); }
}

const std = (xs: number[]) => { const m = xs.reduce((a, b) => a + b, 0) / xs.length; return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)); };

describe('objectCue', () => {
  it('on or off, every other observation is bit-identical; the cue is the same under camera shifts', () => {
    for (const scene of ['manip/push_block', 'manip/pick_place']) {
      for (const shift of [{}, { 'shift.distractors': 3 }]) {
        const off = rollout(scene, { ...TASK, ...shift }, 4, 25), on = rollout(scene, { ...TASK, ...shift, 'objectCue.enabled': true }, 4, 25);
        expect(on.length).toBe(off.length);
        on.forEach((o, t) => {
          expect(Object.keys(o).sort()).toEqual([...Object.keys(off[t]!), OBS_OBJECT_CUE].sort());
          for (const k of Object.keys(off[t]!)) expect(Buffer.from(o[k]!.buffer).equals(Buffer.from(off[t]![k]!.buffer)), `${scene} ${k} step ${t}`).toBe(true);
          expect(o[OBS_OBJECT_CUE]!.length).toBe(2);
        });
      }
      const cue = (shift: Record<string, unknown>) => rollout(scene, { ...TASK, ...shift, 'objectCue.enabled': true }, 4, 10).map((o) => Array.from(o[OBS_OBJECT_CUE]!));
      for (const s of [{ 'shift.distractors': 4 }, { 'shift.occlusion': 0.4 }, { 'shift.cameraJitter': 0.02 }]) expect(cue(s), JSON.stringify(s)).toEqual(cue({}));
    }
  });

  it('has the configured bias and noise statistics (within 20 % over 2000 draws)', () => {
    const cfg = { ...defaultManipConfig(), objectCue: { enabled: true, biasStdM: 0.02, noiseStdM: 0.01 } } as unknown as ManipConfig;
    // bias: one per block axis per episode, from the episode's own cue stream
    const bias: number[] = [];
    for (let e = 0; e < 1000; e++) bias.push(...objectCueState(cfg, new Rng(1000 + e), 1).biasM);
    expect(bias.length).toBe(2000);
    expect(Math.abs(std(bias) / 0.02 - 1)).toBeLessThan(0.2);
    // noise: per step, around the episode's fixed bias (a resting block, zero actions)
    const env = makeEnv('manip/push_block', { ...TASK, 'objectCue.enabled': true, 'objectCue.biasStdM': 0.02, 'objectCue.noiseStdM': 0.01, maxSteps: 1001 });
    try {
      let o = env.reset({ seed: 7 }).obs;
      const err: number[][] = [[], []];
      for (let t = 0; t < 1000; t++) {
        const cue = o[OBS_OBJECT_CUE]!, obj = o[OBS_OBJECT]!;
        err[0]!.push(cue[0]! - obj[0]!); err[1]!.push(cue[1]! - obj[2]!);
        o = env.step(Float32Array.of(0, 1, 0, -1)).obs;
      }
      const noise = err.flatMap((e) => { const m = e.reduce((a, b) => a + b, 0) / e.length; return e.map((v) => v - m); });
      expect(noise.length).toBe(2000);
      expect(Math.abs(std(noise) / 0.01 - 1)).toBeLessThan(0.2);
    } finally { env.dispose(); }
  }, 120_000);
});
