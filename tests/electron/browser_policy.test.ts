/**
 * The example page policies/examples/browser_policy.html runs a BC checkpoint in Chromium with plain TensorFlow.js
 * (tf.loadLayersModel + manifest.json normalisers, no Stride code) and gives the same actions as Stride's own
 * `act()` to 1e-5, over an episode's observations (the observation window included).
 */
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEnv, type Observation } from '../../sim/core/index.ts';
import { initBackend } from '../../policies/common/backend.ts';
import { Normalizer } from '../../policies/common/normalizer.ts';
import { getMethod } from '../../policies/registry.ts';
import { saveCheckpoint } from '../../policies/train/checkpoint.ts';
import { loadScenesForTest, tmp } from '../policies/helpers.ts';
import { ROOT } from '../helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
let server: Server, browser: Browser, base = '', ckptDir = '';

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    const r = spawnSync('sh', ['-c', 'apt-get install -y chromium || (apt-get update && apt-get install -y chromium)'], { stdio: 'ignore', timeout: 600_000 });
    if (r.status !== 0 || !existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing and could not be installed (apt-get install -y chromium)`);
  }
  await initBackend('wasm');
  await loadScenesForTest();
  server = createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url!, 'http://x').pathname);
    const file = p.startsWith('/ckpt/') ? path.join(ckptDir, p.slice(6)) : path.join(ROOT, p);
    try {
      res.setHeader('content-type', file.endsWith('.html') ? 'text/html' : file.endsWith('.js') ? 'text/javascript' : 'application/octet-stream');
      res.end(readFileSync(file));
    } catch { res.statusCode = 404; res.end(); }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new'] });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

describe('a checkpoint in the browser', () => {
  it('the example page acts like Stride\'s BC policy to 1e-5 (obs window of 2, 4-step chunks, 2 executed)', async () => {
    const env = makeEnv('toy/point_reach', {});
    const obs: Observation[] = [];
    let o = env.reset({ seed: 4 }).obs;
    for (let i = 0; i < 6; i++) { obs.push(o); o = env.step(Float32Array.of(0.4, -0.6)).obs; }
    const spec = {
      method: 'bc', config: { ...getMethod('bc').defaultConfig(), hidden: [32, 32], act: 'silu', obsHorizon: 2, predHorizon: 4, actionHorizon: 2 },
      features: { observation: env.observationFeatures, action: env.actionFeatures },
      normalizers: {
        obs: Normalizer.fromStats('meanstd', { min: Array(6).fill(-2), max: Array(6).fill(2), mean: [0.1, -0.2, 0, 0, 0.3, 0], std: [1, 2, 0.5, 0.5, 1, 0] }).toJSON(),
        action: Normalizer.fromStats('minmax', { min: [-1, -1], max: [1, 1], mean: [0, 0], std: [1, 1] }).toJSON(),
      },
    };
    env.dispose();
    const p = getMethod('bc').create(spec, 5);
    const dir = tmp();
    try {
      tf.tidy(() => { for (const v of p.params.list()) v.assign(tf.add(v, tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', 3), 0.3))); });
      ckptDir = await saveCheckpoint(dir, 7, p, { safetyEnvelope: { actionLow: [-1, -1], actionHigh: [1, 1], maxDeltaPerStep: [2, 2] }, trainingCommand: 'test', gitCommit: 'test', backend: 'wasm', sceneId: 'toy/point_reach' });
      p.reset();
      const want: number[][] = [];
      for (const x of obs) want.push(Array.from(await p.act(x)));
      const page = await browser.newPage();
      await page.goto(`${base}/policies/examples/browser_policy.html?checkpoint=/ckpt&backend=cpu`);
      await page.waitForFunction(() => (window as unknown as { stridePolicy?: unknown; stridePolicyError?: string }).stridePolicy || (window as unknown as { stridePolicyError?: string }).stridePolicyError, null, { timeout: 60_000 });
      expect(await page.evaluate(() => (window as unknown as { stridePolicyError?: string }).stridePolicyError ?? null)).toBeNull();
      expect(await page.textContent('#out')).toMatch(/^bc policy for toy\/point_reach, step 7, backend cpu/);
      const got = await page.evaluate(async (os) => {
        const sp = (window as unknown as { stridePolicy: { reset(): void; act(o: Record<string, number[]>): Promise<number[]> } }).stridePolicy;
        sp.reset();
        const out: number[][] = [];
        for (const x of os) out.push(await sp.act(x));
        return out;
      }, obs.map((x) => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, Array.from(v)]))));
      expect(got.length).toBe(want.length);
      let worst = 0;
      got.forEach((a, t) => a.forEach((v, j) => { worst = Math.max(worst, Math.abs(v - want[t]![j]!)); }));
      expect(worst).toBeLessThan(1e-5);
      expect(new Set(want.map((a) => a.join())).size).toBeGreaterThan(1); // the actions actually vary
    } finally {
      p.dispose();
    }
  });
});
