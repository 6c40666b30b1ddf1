/**
 * Checkpoints are real TF.js LayersModels: for every registered method (a freshly written checkpoint with perturbed
 * weights) and every shipped checkpoint, `tf.loadLayersModel` over HTTP (plain @tensorflow/tfjs, the browser path:
 * fetch of model.json, then of weights.bin) loads `model.json`, and each network's output matches Stride's own
 * forward (`Mlp.apply`) to 1e-5 on the same random inputs. A checkpoint of the older layout (bare weights manifest)
 * still loads through `loadPolicy` and converts with `writeModelFiles`.
 */
import { createServer, type Server } from 'node:http';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../policies/common/backend.ts';
import type { LayersModelJson } from '../../policies/common/layers_model.ts';
import type { MethodPolicy } from '../../policies/common/policy.ts';
import { encodeWeights } from '../../policies/common/weights_io.ts';
import { getMethod, listMethods } from '../../policies/registry.ts';
import { readManifest, saveCheckpoint, sealCheckpoint, writeModelFiles, type CheckpointManifest } from '../../policies/train/checkpoint.ts';
import { loadPolicy } from '../../policies/train/load.ts';
import { Rng } from '../../sim/math/rng.ts';
import { tmp } from './helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SHIPPED = ['checkpoints/beso-play', 'checkpoints/beso-block-push', 'sim/bridge/shipped/diffusion_point_reach'];
/** A spec per method to build fresh policies from: a shipped checkpoint's where one exists, else a small one. */
const SMALL: Record<string, Record<string, unknown>> = { bc: { hidden: [32, 32], act: 'silu' }, ppo: { hidden: [16, 16], act: 'tanh' }, fdp: { priority: ['observation.state'], rest: [], width: 16, depth: 2, resWidth: 8 } };

let server: Server;
let base = '';
beforeAll(async () => {
  await initBackend('wasm');
  server = createServer((req, res) => {
    const f = path.join('/', decodeURIComponent(new URL(req.url!, 'http://x').pathname));
    try { res.end(readFileSync(f)); } catch { res.statusCode = 404; res.end(); }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** Feed the same random inputs to the LayersModel and to Stride's networks; returns the largest relative difference. */
async function compare(ckptDir: string, policy: MethodPolicy): Promise<number> {
  const model = await tf.loadLayersModel(`${base}${path.resolve(ckptDir)}/model.json`);
  try {
    const mj = JSON.parse(readFileSync(path.join(ckptDir, 'model.json'), 'utf8')) as LayersModelJson;
    const meta = mj.userDefinedMetadata.stride;
    expect(model.inputs.map((i) => i.name.replace(/_\d+$/, ''))).toEqual(meta.networks.flatMap((n) => n.inputs.map((i) => i.name)));
    const rng = new Rng(7), B = 5;
    const feeds = model.inputs.map((inp) => tf.tensor2d(Float32Array.from({ length: B * inp.shape[1]! }, () => rng.normal(0, 1)), [B, inp.shape[1]!]));
    let worst = 0;
    try {
      const outs = model.predict(feeds) as tf.Tensor[] | tf.Tensor;
      const outList = Array.isArray(outs) ? outs : [outs];
      let k = 0;
      for (const [i, net] of policy.networks.entries()) {
        const hasCond = net.cfg.condDim > 0;
        const want = tf.tidy(() => net.apply(feeds[k] as tf.Tensor2D, hasCond ? feeds[k + 1] as tf.Tensor2D : undefined, (n) => policy.params.get(n)).arraySync() as number[][]);
        k += hasCond ? 2 : 1;
        const got = outList[i]!.arraySync() as number[][];
        expect(got.length).toBe(B);
        for (let r = 0; r < B; r++) for (let c = 0; c < want[r]!.length; c++) worst = Math.max(worst, Math.abs(got[r]![c]! - want[r]![c]!) / Math.max(1, Math.abs(want[r]![c]!)));
      }
      // Constant outputs (PPO's logStd) equal their parameter for any input.
      for (const [j, c] of meta.constants.entries()) {
        const got = outList[policy.networks.length + j]!.arraySync() as number[][];
        const want = Array.from(policy.params.get(c.param).dataSync());
        for (const row of got) expect(row).toEqual(want);
      }
      for (const o of outList) o.dispose();
    } finally {
      for (const f of feeds) f.dispose();
    }
    return worst;
  } finally {
    model.dispose();
  }
}

describe('checkpoints as TF.js LayersModels', () => {
  it('every method: tf.loadLayersModel loads a fresh checkpoint and matches Stride\'s networks to 1e-5', async () => {
    const shippedSpec = (m: string) => SHIPPED.map((d) => readManifest(path.join(ROOT, d))).find((mf) => mf.method === m)?.spec;
    const feats = readManifest(path.join(ROOT, SHIPPED.at(-1)!)).spec;
    const tested: string[] = [];
    for (const method of listMethods()) {
      const spec = shippedSpec(method) ?? { ...feats, method, config: { ...getMethod(method).defaultConfig(), ...(SMALL[method] ?? {}) }, normalizers: method === 'ppo' ? {} : feats.normalizers };
      const p = getMethod(method).create(spec, 3);
      const dir = tmp();
      try {
        tf.tidy(() => { for (const v of p.params.list()) v.assign(tf.add(v, tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', 11), 0.1))); });
        if (p.ema) for (const [n, v] of p.ema.shadow) v.assign(p.params.get(n));
        const ck = await saveCheckpoint(dir, 1, p, { safetyEnvelope: { actionLow: [-1], actionHigh: [1], maxDeltaPerStep: [2] }, trainingCommand: 'test', gitCommit: 'test', backend: 'wasm', sceneId: 'toy/point_reach' });
        expect(JSON.parse(readFileSync(path.join(ck, 'model.json'), 'utf8')).format).toBe('layers-model');
        expect(await compare(ck, p), method).toBeLessThan(1e-5);
        // Stride's loader reads the same files back into the same weights.
        const q = loadPolicy(ck);
        try { for (const n of p.params.names) expect(Array.from(q.params.get(n).dataSync()), n).toEqual(Array.from(p.params.get(n).dataSync())); } finally { q.dispose(); }
        tested.push(method);
      } finally {
        p.dispose();
      }
    }
    expect(tested.sort()).toEqual(['bc', 'beso', 'diffusion', 'fdp', 'ppo']);
  });

  it.each(SHIPPED)('shipped checkpoint %s loads as a LayersModel and matches loadPolicy to 1e-5', async (d) => {
    const dir = path.join(ROOT, d);
    const p = loadPolicy(dir);
    try {
      expect(await compare(dir, p)).toBeLessThan(1e-5);
    } finally {
      p.dispose();
    }
  });

  it('an older checkpoint (bare weights manifest) still loads and converts to a LayersModel', async () => {
    const src = path.join(ROOT, SHIPPED.at(-1)!);
    const cur = loadPolicy(src);
    const dir = tmp();
    cpSync(src, dir, { recursive: true });
    try {
      const arrays = cur.params.toArrays(), shapes = Object.fromEntries(cur.params.names.map((n) => [n, cur.params.get(n).shape]));
      const w = await encodeWeights(arrays, shapes);
      writeFileSync(path.join(dir, 'weights.bin'), w.data);
      writeFileSync(path.join(dir, 'model.json'), JSON.stringify({
        format: 'stride-policy', formatVersion: 1, generatedBy: 'stride train', modelTopology: { method: cur.method, config: cur.spec.config }, weightsManifest: [{ paths: ['weights.bin'], weights: w.specs }],
      }));
      // The integrity record is a separate layer (manifest hashes): re-seal so only the model format differs.
      const reseal = () => sealCheckpoint(dir, JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as CheckpointManifest);
      reseal();
      const old = loadPolicy(dir);
      try {
        for (const n of cur.params.names) expect(Array.from(old.params.get(n).dataSync())).toEqual(Array.from(arrays[n]!));
        await writeModelFiles(dir, old);
        expect(await compare(dir, old)).toBeLessThan(1e-5);
      } finally { old.dispose(); }
      writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ format: 'graph-model', weightsManifest: [] }));
      reseal();
      expect(() => loadPolicy(dir)).toThrow(/^corrupt checkpoint .*model\.json: not a Stride checkpoint model\.json/);
    } finally {
      cur.dispose();
    }
  });
});
