/**
 * Contract over every registered method: act() shapes and bounds, save → load gives identical actions for the same
 * noise, tf.memory().numTensors does not grow over 100 act() calls, corrupt/truncated checkpoints fail with a
 * one-line error naming the file.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { readFileSync, writeFileSync, truncateSync, statSync, cpSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ACTION, makeEnv, type Observation } from '../../sim/core/index.ts';
import { initBackend } from '../../policies/common/backend.ts';
import { Normalizer } from '../../policies/common/normalizer.ts';
import type { MethodPolicy, PolicySpec } from '../../policies/common/policy.ts';
import { checkMethodConfig, getMethod, listMethods } from '../../policies/registry.ts';
import { readManifest, readTrainState, resolveCheckpoint, saveCheckpoint } from '../../policies/train/checkpoint.ts';
import { loadPolicy } from '../../policies/train/load.ts';
import { loadScenesForTest, tmp } from './helpers.ts';

const SMALL: Record<string, Record<string, unknown>> = {
  bc: { hidden: [32, 32] },
  diffusion: { width: 32, depth: 2, inferSteps: 4, trainSteps: 20 },
  ppo: { hidden: [16, 16] },
  beso: { width: 32, depth: 1, inferSteps: 3 },
  fdp: { priority: ['observation.state'], rest: [], width: 32, depth: 2, resWidth: 16, depthFeatures: 8, inferSteps: 4, trainSteps: 20 },
};

let spec: (m: string) => PolicySpec;
let obs: Observation[] = [];

it('loops over the whole registry (a new method cannot skip the contract) and keeps test configs small', () => {
  expect(listMethods().length).toBeGreaterThanOrEqual(4);
  for (const m of listMethods()) expect(SMALL[m], `add a small config for ${m}`).toBeDefined();
  // Every method declares config ranges its own defaults (and the small test configs) satisfy.
  for (const m of listMethods()) {
    expect(() => checkMethodConfig(m, getMethod(m).defaultConfig() as Record<string, unknown>), m).not.toThrow();
    expect(() => checkMethodConfig(m, { ...getMethod(m).defaultConfig(), ...SMALL[m] }), m).not.toThrow();
    const d = getMethod(m).defaultConfig() as Record<string, unknown>;
    const k = Object.keys(d).find((x) => typeof d[x] === 'number')!;
    expect(() => checkMethodConfig(m, { ...d, [k]: -1e12 }), `${m}.${k}`).toThrow(new RegExp(`${k} = -1000000000000 is out of range`));
  }
});

beforeAll(async () => {
  await initBackend('wasm');
  await loadScenesForTest();
  const env = makeEnv('toy/point_reach', {});
  let o = env.reset({ seed: 3 }).obs;
  for (let i = 0; i < 8; i++) { obs.push(o); o = env.step(Float32Array.of(0.5, -0.3)).obs; }
  spec = (m: string) => ({
    method: m, config: { ...getMethod(m).defaultConfig(), ...(SMALL[m] ?? {}) }, features: { observation: env.observationFeatures, action: env.actionFeatures },
    normalizers: {
      obs: Normalizer.fromStats('minmax', { min: Array(6).fill(-2), max: Array(6).fill(2), mean: Array(6).fill(0), std: Array(6).fill(1) }).toJSON(),
      action: Normalizer.fromStats('minmax', { min: [-1, -1], max: [1, 1], mean: [0, 0], std: [1, 1] }).toJSON(),
    },
  });
  env.dispose();
});

async function actions(p: MethodPolicy, seed: number): Promise<number[]> {
  p.reset();
  p.seedNoise(seed);
  const out: number[] = [];
  for (const o of obs) out.push(...(await p.act(o)));
  return out;
}

const meta = { safetyEnvelope: { actionLow: [-1, -1], actionHigh: [1, 1], maxDeltaPerStep: [2, 2] }, trainingCommand: 'test', gitCommit: 'test', backend: 'wasm', sceneId: 'toy/point_reach' };

describe.each(listMethods())('policy contract: %s', (method) => {
  it('is registered; act() returns in-bounds actions of the action size', async () => {
    expect(listMethods()).toContain(method);
    const p = getMethod(method).create(spec(method), 1);
    try {
      for (const o of obs) {
        const a = await p.act(o);
        expect(a).toBeInstanceOf(Float32Array);
        expect(a.length).toBe(2);
        for (const v of a) { expect(Number.isFinite(v)).toBe(true); expect(Math.abs(v)).toBeLessThanOrEqual(1); }
      }
      expect(Object.keys(p.outputFeatures)).toEqual([ACTION]);
    } finally { p.dispose(); }
  });

  it('save → load gives identical actions for the same noise; numTensors does not grow over 100 act() calls', async () => {
    const p = getMethod(method).create(spec(method), 2);
    const dir = tmp();
    try {
      // Perturb weights so the test is not about an all-zero output layer.
      tf.tidy(() => { for (const v of p.params.list()) v.assign(tf.add(v, tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', 9), 0.05))); });
      if (p.ema) for (const [n, v] of p.ema.shadow) v.assign(p.params.get(n));
      const ck = await saveCheckpoint(dir, 5, p, meta);
      const q = loadPolicy(dir);
      try {
        expect(q.manifest.step).toBe(5);
        expect(q.manifest.safetyEnvelope.maxDeltaPerStep).toEqual([2, 2]);
        expect(await actions(q, 42)).toEqual(await actions(p, 42));
        // model.json is a TF.js LayersModel (tests/policies/layers_model.test.ts loads it with tf.loadLayersModel)…
        const mj = JSON.parse(readFileSync(path.join(ck, 'model.json'), 'utf8'));
        expect(mj.format).toBe('layers-model');
        expect(mj.weightsManifest[0].paths).toEqual(['weights.bin']);
        // …whose weights plain @tensorflow/tfjs decodes into the policy's inference weights (layer weight → parameter map).
        const bin = readFileSync(path.join(ck, 'weights.bin'));
        const named = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), mj.weightsManifest[0].weights);
        const want = p.ema ? p.ema.toArrays() : p.params.toArrays();
        const toParam: Record<string, string | null> = mj.userDefinedMetadata.stride.params;
        expect(Object.values(toParam).filter((x) => x !== null).sort()).toEqual(Object.keys(want).sort());
        for (const [n, t] of Object.entries(named)) { if (toParam[n]) expect(Array.from(t.dataSync())).toEqual(Array.from(want[toParam[n]!]!)); t.dispose(); }
        const before = tf.memory().numTensors;
        for (let i = 0; i < 100; i++) await q.act(obs[i % obs.length]!);
        expect(tf.memory().numTensors).toBe(before);
      } finally { q.dispose(); }
    } finally { p.dispose(); }
  });
});

describe('corrupt checkpoints', () => {
  it('truncated weights, corrupt manifest, bad latest ⇒ one-line errors naming the file', async () => {
    const p = getMethod('bc').create(spec('bc'), 3);
    const dir = tmp();
    const ck = await saveCheckpoint(dir, 1, p, meta);
    p.dispose();
    const bad = tmp();
    cpSync(dir, bad, { recursive: true });
    const bck = path.join(bad, 'checkpoints', '1');
    truncateSync(path.join(bck, 'weights.bin'), statSync(path.join(bck, 'weights.bin')).size - 8);
    expect(() => loadPolicy(bad)).toThrow(/weights\.bin: \d+ bytes, the manifest records \d+ \(truncated/);
    writeFileSync(path.join(bck, 'manifest.json'), '{"formatVersion": 1, "meth');
    expect(() => loadPolicy(bad)).toThrow(/corrupt checkpoint manifest .*manifest\.json: invalid JSON/);
    writeFileSync(path.join(bad, 'latest'), 'garbage');
    expect(() => loadPolicy(bad)).toThrow(/corrupt .*latest: expected a step number/);
    // The original is untouched and still loads.
    loadPolicy(ck).dispose();
  });

  it('the manifest records size and SHA-256 of every file; each file missing, empty, truncated or altered is refused naming it', async () => {
    const p = getMethod('bc').create(spec('bc'), 3);
    const dir = tmp();
    const arrays: Record<string, Float32Array> = {};
    for (const n of p.params.names) arrays[`param/${n}`] = p.params.get(n).dataSync() as Float32Array;
    await saveCheckpoint(dir, 2, p, meta, { step: 2, adamStep: 2, trainer: { rng: 7 }, arrays });
    p.dispose();
    const ck = resolveCheckpoint(dir);
    const files = readdirSync(ck).sort();
    // The file set is whatever the writer produced (interop may change it); every one of them is covered.
    expect(files).toEqual(expect.arrayContaining(['manifest.json', 'model.json', 'weights.bin', 'train_state.json', 'train_state.bin']));
    const m = readManifest(ck);
    expect(Object.keys(m.files!).sort()).toEqual(files.filter((f) => f !== 'manifest.json'));
    for (const [f, d] of Object.entries(m.files!)) {
      expect(d.bytes).toBe(statSync(path.join(ck, f)).size);
      expect(d.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    const load = (d: string) => { const q = loadPolicy(d); readTrainState(resolveCheckpoint(d)); q.dispose(); };
    load(dir);
    const damages: [string, (file: string) => void, RegExp][] = [
      ['missing', (f) => rmSync(f), /: missing$/],
      ['empty', (f) => writeFileSync(f, ''), /: empty file/],
      ['truncated', (f) => truncateSync(f, Math.max(1, statSync(f).size - 3)), /truncated|altered|invalid JSON/],
      ['altered', (f) => { const b = readFileSync(f); b[Math.floor(b.length / 2)] ^= 0x20; writeFileSync(f, b); }, /altered|invalid JSON/],
    ];
    for (const file of files) {
      for (const [what, damage, re] of damages) {
        const bad = tmp();
        cpSync(dir, bad, { recursive: true });
        const target = path.join(resolveCheckpoint(bad), file);
        damage(target);
        let msg = '';
        try { load(bad); } catch (e) { msg = (e as Error).message; }
        expect(msg, `${file} ${what}`).toContain(target);
        expect(msg, `${file} ${what}`).toMatch(re);
        expect(msg.split('\n'), `${file} ${what}`).toHaveLength(1);
        rmSync(bad, { recursive: true, force: true });
      }
    }
    // A file nobody recorded is refused too (a checkpoint is exactly what was written).
    const extra = tmp();
    cpSync(dir, extra, { recursive: true });
    writeFileSync(path.join(resolveCheckpoint(extra), 'evil.bin'), 'x');
    expect(() => loadPolicy(extra)).toThrow(/evil\.bin: not recorded in the manifest/);
    // The manifest's own content is covered (a changed field with valid JSON).
    const mf = path.join(resolveCheckpoint(extra), 'manifest.json');
    rmSync(path.join(resolveCheckpoint(extra), 'evil.bin'));
    const j = JSON.parse(readFileSync(mf, 'utf8'));
    j.safetyEnvelope.actionHigh = [100, 100];
    writeFileSync(mf, JSON.stringify(j, null, 2));
    expect(() => loadPolicy(extra)).toThrow(/manifest\.json: altered/);
  });
});

// --- FDP on a push_block fixture (cartesian actions, position object obs, the cue on: state, goal, cue + depth) ---

describe('policy contract: fdp (push_block fixture)', () => {
  const TASK = { 'arm.actionSpace': 'cartesian', objectObs: 'position', 'objectCue.enabled': true };
  const KEYS = ['observation.state', 'observation.goal', 'observation.object_cue', 'observation.depth'];
  let pbObs: Observation[] = [];
  let pbSpec: PolicySpec;
  beforeAll(() => {
    const env = makeEnv('manip/push_block', TASK);
    let o = env.reset({ seed: 5 }).obs;
    for (let i = 0; i < 8; i++) { pbObs.push(o); o = env.step(Float32Array.of(0.2, 0.5, -0.1, 0)).obs; }
    // normaliser stats from the fixture's own frames
    const frames = pbObs.map((x) => KEYS.flatMap((k) => Array.from(x[k]!)));
    const D = frames[0]!.length;
    const min = Array.from({ length: D }, (_, j) => Math.min(...frames.map((f) => f[j]!)) - 0.1), max = Array.from({ length: D }, (_, j) => Math.max(...frames.map((f) => f[j]!)) + 0.1);
    pbSpec = {
      method: 'fdp', features: { observation: env.observationFeatures, action: env.actionFeatures },
      config: { ...getMethod('fdp').defaultConfig(), obsKeys: KEYS, priority: KEYS.slice(0, 3), rest: KEYS.slice(3), phase: 'residual', width: 16, depth: 2, resWidth: 16, depthFeatures: 8, inferSteps: 4, trainSteps: 20 },
      normalizers: {
        obs: Normalizer.fromStats('minmax', { min, max, mean: Array(D).fill(0), std: Array(D).fill(1) }).toJSON(),
        action: Normalizer.fromStats('minmax', { min: [-1, -1, -1, -1], max: [1, 1, 1, 1], mean: [0, 0, 0, 0], std: [1, 1, 1, 1] }).toJSON(),
      },
    };
    env.dispose();
  });
  const fdpActions = async (p: MethodPolicy, seed: number): Promise<number[]> => {
    p.reset(); p.seedNoise(seed);
    const out: number[] = [];
    for (const o of pbObs) out.push(...(await p.act(o)));
    return out;
  };

  it('is registered; act() returns in-bounds actions of the action size', async () => {
    expect(listMethods()).toContain('fdp');
    const p = getMethod('fdp').create(pbSpec, 1);
    try {
      for (const o of pbObs) {
        const a = await p.act(o);
        expect(a).toBeInstanceOf(Float32Array);
        expect(a.length).toBe(4);
        for (const v of a) { expect(Number.isFinite(v)).toBe(true); expect(Math.abs(v)).toBeLessThanOrEqual(1); }
      }
    } finally { p.dispose(); }
  });

  it('the plain-JS engine (batch-1 act) gives the TF.js engine\'s actions, blockwise and output-sum, depth encoder included', async () => {
    for (const compose of ['blockwise', 'output']) {
      const p = getMethod('fdp').create({ ...pbSpec, config: { ...pbSpec.config, compose, clipResidual: 0.5 } }, 3) as MethodPolicy & { useJsEngine(on?: boolean): void };
      try {
        tf.tidy(() => { for (const v of p.params.list()) v.assign(tf.add(v, tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', 4), 0.1))); });
        if (p.ema) for (const [n, v] of p.ema.shadow) v.assign(p.params.get(n));
        const a = await fdpActions(p, 7);
        p.useJsEngine();
        const b = await fdpActions(p, 7);
        expect(b.length).toBe(a.length);
        for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!), `${compose} ${i}`).toBeLessThan(1e-3);
        expect(new Set(a).size).toBeGreaterThan(4); // real, varying actions, not a constant
      } finally { p.dispose(); }
    }
  });

  it('save → load gives identical actions for the same noise; numTensors does not grow over 100 act() calls', async () => {
    const p = getMethod('fdp').create(pbSpec, 2);
    const dir = tmp();
    try {
      tf.tidy(() => { for (const v of p.params.list()) v.assign(tf.add(v, tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', 9), 0.05))); });
      if (p.ema) for (const [n, v] of p.ema.shadow) v.assign(p.params.get(n));
      await saveCheckpoint(dir, 5, p, { ...meta, safetyEnvelope: { actionLow: [-1, -1, -1, -1], actionHigh: [1, 1, 1, 1], maxDeltaPerStep: [2, 2, 2, 2] }, sceneId: 'manip/push_block' });
      const q = loadPolicy(dir);
      try {
        expect(await fdpActions(q, 42)).toEqual(await fdpActions(p, 42));
        // the loaded policy's base is frozen again (phase 2 is rebuilt from the spec)
        expect((q as unknown as { baseParamNames: string[] }).baseParamNames.every((n) => !q.params.get(n).trainable)).toBe(true);
        const before = tf.memory().numTensors;
        for (let i = 0; i < 100; i++) await q.act(pbObs[i % pbObs.length]!);
        expect(tf.memory().numTensors).toBe(before);
      } finally { q.dispose(); }
    } finally { p.dispose(); }
  });
});
