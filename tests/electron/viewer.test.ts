/**
 * The viewer end to end in real headless Chromium (SwiftShader): `stride rollout --record` writes a recording of
 * each scene family, `stride view --web` serves them, and the page is driven like a user would.
 * Screenshots go to $TMPDIR/stride-viewer-shots/ (look at them).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initPhysics } from '../../sim/physics/index.ts';
import { listScenes, makeEnv } from '../../sim/core/registry.ts';
import { runEpisode } from '../../sim/core/rollout.ts';
import { EpisodeRecorder } from '../../sim/data/recorder.ts';
import { builtinPolicy } from '../../sim/core/policy.ts';
import { readRecording, type Recording } from '../../sim/data/replay.ts';
import type { RenderVisual } from '../../sim/core/render.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'stride.js');
const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(tmpdir(), 'stride-viewer-shots');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'];

interface Rec { family: string; scene: string; file: string; rec: Recording }

let work = '';
let server: ChildProcess | null = null;
let url = '';
let browser: Browser;
let page: Page;
const recs: Rec[] = [];

function run(args: string[], cwd: string): Promise<void> {
  return new Promise((res, rej) => {
    const c = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr!.on('data', (d) => { err += String(d); });
    c.once('exit', (code) => (code === 0 ? res() : rej(new Error(`stride ${args.join(' ')} exited ${code}: ${err.slice(-500)}`))));
  });
}

const dbg = <T>(fn: string): Promise<T> => page.evaluate(`window.__strideDebug.${fn}`) as Promise<T>;

async function waitDraws(n = 2): Promise<void> {
  const start = await dbg<{ drawn: number }>('stats()');
  await page.waitForFunction((s) => (window as unknown as { __strideDebug: { stats(): { drawn: number } } }).__strideDebug.stats().drawn >= s + 2, start.drawn + n - 2, { timeout: 60_000 });
}

/** Distinct colours (quantised) and the share of pixels that differ from the most common colour. */
async function canvasStats(): Promise<{ colours: number; nonBackground: number }> {
  return page.evaluate(() => {
    const src = document.getElementById('stage') as HTMLCanvasElement;
    const c = document.createElement('canvas');
    c.width = src.width; c.height = src.height;
    const ctx = c.getContext('2d')!;
    ctx.drawImage(src, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    const counts = new Map<number, number>();
    for (let i = 0; i < d.length; i += 4) {
      const k = ((d[i]! >> 3) << 10) | ((d[i + 1]! >> 3) << 5) | (d[i + 2]! >> 3);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    const top = Math.max(...counts.values());
    return { colours: counts.size, nonBackground: 1 - top / (d.length / 4) };
  });
}

function isGround(v: RenderVisual): boolean {
  return v.shape.kind === 'ground' || (v.isStatic && v.shape.kind === 'box' && v.shape.halfExtentsM[0] >= 8 && v.shape.halfExtentsM[2] >= 8 && v.shape.halfExtentsM[1] <= 0.5);
}

async function openInUi(file: string): Promise<void> {
  await page.click('#tab-replay');
  await page.fill('#rec-path', file);
  await page.click('#rec-open');
  await page.waitForFunction((f) => document.getElementById('status')!.textContent === `opened ${f}`, file, { timeout: 60_000 });
  await waitDraws();
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    const r = spawnSync('sh', ['-c', 'apt-get install -y chromium || (apt-get update && apt-get install -y chromium)'], { stdio: 'ignore', timeout: 600_000 });
    if (r.status !== 0 || !existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing and could not be installed (apt-get install -y chromium)`);
  }
  mkdirSync(SHOTS, { recursive: true });
  work = mkdtempSync(join(tmpdir(), 'stride-viewer-'));
  await initPhysics();
  await import('../../scenes/index.ts');
  // One recording per scene family present (first scene by id; expert when it has one), 30 steps at most. The toy
  // family is recorded by the real CLI (`stride rollout --record`), the others in-process with the same recorder.
  const byFamily = new Map<string, { id: string; expert: boolean }>();
  for (const s of listScenes()) if (!byFamily.has(s.family)) byFamily.set(s.family, { id: s.id, expert: !!s.expert });
  const jobs = [...byFamily].map(async ([family, s]) => {
    const file = join(work, `${family}.mcap`);
    const policy = s.expert ? 'expert' : 'random';
    if (family === 'toy') {
      await run(['rollout', '--scene', s.id, '--policy', policy, '--episodes', '1', '--seed', '0', '--record', file, '--set', 'maxSteps=30'], work);
    } else {
      const env = makeEnv(s.id, { maxSteps: 30 });
      const rec = await EpisodeRecorder.create(file, env, { policy, overrides: { maxSteps: 30 }, command: 'tests/electron' });
      try {
        rec.endEpisode(runEpisode(env, 0, builtinPolicy(policy), rec.episodeHooks(0)));
        await rec.close();
      } finally {
        env.dispose();
      }
    }
    return { family, scene: s.id, file, rec: await readRecording(file) };
  });
  recs.push(...(await Promise.all(jobs)));
  recs.sort((a, b) => (a.family === 'toy' ? -1 : b.family === 'toy' ? 1 : a.family.localeCompare(b.family)));

  server = spawn(process.execPath, [BIN, 'view', recs[0]!.file, '--web', '--port', '0'], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  url = await new Promise<string>((res, rej) => {
    let buf = '';
    const t = setTimeout(() => rej(new Error(`stride view did not print a URL: ${buf}`)), 120_000);
    server!.stdout!.on('data', (d) => { buf += String(d); const m = buf.match(/Viewer: (http:\/\/127\.0\.0\.1:\d+\/)/); if (m) { clearTimeout(t); res(m[1]!); } });
    server!.once('exit', (code) => rej(new Error(`stride view exited ${code}: ${buf}`)));
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  page = await browser.newPage({ viewport: { width: 900, height: 560 } });
  await page.goto(url);
  await page.waitForFunction(() => (window as unknown as { __strideDebug?: { ready: boolean } }).__strideDebug?.ready === true, null, { timeout: 120_000 });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server!.once('exit', r));
    server.kill('SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (server.exitCode === null) server.kill('SIGKILL');
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('stride view --web in Chromium', () => {
  it('draws a recording of every scene family: canvas not blank, one instance per body', async () => {
    expect(recs.length).toBeGreaterThanOrEqual(1);
    for (const r of recs) {
      if (r !== recs[0]) await openInUi(r.file);
      else await waitDraws();
      const ep = r.rec.episodes[0]!;
      const frame = await dbg<{ step: number; ids: number[] }>('frame()');
      const stats = await dbg<{ instances: number; dynamicInstances: number; frameBodies: number }>('stats()');
      expect(frame.step).toBe(0);
      expect(frame.ids.length).toBe(ep.initialFrame!.ids.length);
      expect(stats.dynamicInstances).toBe(ep.initialFrame!.ids.length);
      expect(stats.frameBodies).toBe(ep.initialFrame!.ids.length);
      expect(stats.instances).toBe(ep.scene.visuals.filter((v) => !isGround(v)).length);
      await page.screenshot({ path: join(SHOTS, `replay-${r.family}.png`) });
      const px = await canvasStats();
      expect(px.colours, `${r.scene}: canvas has too few colours`).toBeGreaterThan(20);
      expect(px.nonBackground, `${r.scene}: canvas is almost one colour`).toBeGreaterThan(0.05);
    }
  }, 300_000);

  it('an imported robot (stride robot import → rollout --record) is drawn with its URDF meshes', async () => {
    // The user's path: import the URDF into a robot folder, record a rollout of robot/reach on the copy, view it.
    const urdf = join(ROOT, 'scenes', 'robot', 'urdf', 'arm6_gripper.urdf');
    await run(['robot', 'import', urdf, '--out', 'robots/my_arm'], work);
    const file = join(work, 'my_arm.mcap');
    await run(['rollout', '--scene', 'robot/reach', '--set', 'robot.urdf=robots/my_arm/robot.urdf', '--policy', 'expert', '--episodes', '1', '--seed', '2', '--record', file], work);
    const rec = await readRecording(file);
    const ep = rec.episodes[0]!;
    const meshes = ep.scene.visuals.filter((v) => v.shape.kind === 'mesh');
    // base, upper arm (mm STL via package://), forearm (OBJ) and palm (OBJ): four links drawn by their meshes.
    expect(meshes.map((v) => v.name).sort()).toEqual(['base_link', 'forearm', 'hand', 'upper_arm']);
    await openInUi(file);
    const stats = await dbg<{ meshInstances: number; meshTriangles: number; instances: number; dynamicInstances: number }>('stats()');
    expect(stats.meshInstances).toBe(4);
    expect(stats.meshTriangles).toBe(meshes.reduce((n, v) => n + (v.shape as { indices: number[] }).indices.length / 3, 0));
    expect(stats.instances).toBe(ep.scene.visuals.filter((v) => !isGround(v)).length);
    expect(stats.dynamicInstances).toBe(ep.initialFrame!.ids.length);
    // The last frame: the arm has moved to the target.
    await page.$eval('#timeline', (el, v) => { (el as HTMLInputElement).value = v; el.dispatchEvent(new Event('input')); }, String(ep.steps.length));
    await waitDraws();
    await page.screenshot({ path: join(SHOTS, 'replay-imported-robot.png') });
    const px = await canvasStats();
    expect(px.colours).toBeGreaterThan(20);
    expect(px.nonBackground).toBeGreaterThan(0.05);
  }, 240_000);

  it('scrubbing the timeline draws the recorded pose of that step', async () => {
    const r = recs[0]!;
    await openInUi(r.file);
    const ep = r.rec.episodes[0]!;
    const last = ep.steps.length; // timeline index t = state after t actions
    const id = ep.initialFrame!.ids[0]!;
    const before = await page.evaluate((i) => (window as unknown as { __strideDebug: { poseOf(i: number): number[] } }).__strideDebug.poseOf(i), id);
    await page.$eval('#timeline', (el, v) => { (el as HTMLInputElement).value = v; el.dispatchEvent(new Event('input')); }, String(last));
    await waitDraws();
    const after = await page.evaluate((i) => (window as unknown as { __strideDebug: { poseOf(i: number): number[] } }).__strideDebug.poseOf(i), id);
    const f = ep.steps[last - 1]!.frame!;
    const k = f.ids.indexOf(id) * 7;
    for (let j = 0; j < 3; j++) expect(after[j]!).toBeCloseTo(f.poses[k + j]!, 4);
    const moved = Math.hypot(after[0]! - before[0]!, after[1]! - before[1]!, after[2]! - before[2]!);
    expect(moved).toBeGreaterThan(1e-3);
    expect((await page.textContent('#step-label'))!).toContain(`step ${last}`);
    await page.screenshot({ path: join(SHOTS, 'replay-scrubbed.png') });
  }, 120_000);

  it('fork at frame t: the branch starts from the parent state at t and is recorded with its parent', async () => {
    const r = recs[0]!;
    await openInUi(r.file);
    const t = Math.min(5, r.rec.episodes[0]!.steps.length - 1);
    await page.$eval('#timeline', (el, v) => { (el as HTMLInputElement).value = v; el.dispatchEvent(new Event('input')); }, String(t));
    await page.fill('#fork-policy', 'expert');
    await page.click('#btn-fork');
    await page.waitForFunction(() => !!document.body.dataset.forkFile, null, { timeout: 60_000 });
    expect((await page.textContent('#fork-result'))!).toContain('✓ restored state matches');
    const forkFile = await page.evaluate(() => document.body.dataset.forkFile!);
    // The branch plays live until its episode ends, then its MCAP is closed.
    await page.waitForFunction(() => /branch recorded to/.test(document.getElementById('status')!.textContent ?? ''), null, { timeout: 120_000 });
    const live = await dbg<{ branchOf: { step: number } | null }>('live()');
    expect(live.branchOf?.step).toBe(t);
    await page.screenshot({ path: join(SHOTS, 'fork-live.png') });
    const branch = await readRecording(forkFile);
    expect(branch.meta.parent).toEqual({ file: r.file, episode: 0, step: t });
    expect(branch.episodes[0]!.initialStateHash).toBe(r.rec.episodes[0]!.steps[t - 1]!.stateHash);
    expect(branch.episodes[0]!.steps.length).toBeGreaterThan(0);
    // The live session counts with the shared EpisodeTally: real episode metrics, not `metrics: {}`.
    const sum = branch.episodes[0]!.summary!;
    const steps = branch.episodes[0]!.steps;
    expect(sum.length).toBe(steps.length);
    expect(sum.return).toBeCloseTo(steps.reduce((acc, st) => acc + st.reward, 0), 9);
    expect(Object.keys(sum.metrics).filter((k) => k.startsWith('reward/')).length).toBeGreaterThan(0);
    expect(sum.reason).not.toBe('stopped');
  }, 240_000);

  it('the host rejects malformed WebSocket requests and does nothing', async () => {
    const send = (text: string) => page.evaluate((m) => (window as unknown as { __strideDebug: { sendRaw(t: string): Promise<{ ok?: boolean; error?: string }> } }).__strideDebug.sendRaw(m), text);
    const liveBefore = await dbg<unknown>('live()');
    const bad = [
      'not json',
      JSON.stringify({ id: 1, channel: 'fs:readFile', payload: { path: '/etc/passwd' } }),
      JSON.stringify({ id: 2, channel: 'live:start', payload: { sceneId: 'toy/point_reach', policy: 'expert', seed: -1 } }),
      JSON.stringify({ id: 3, channel: 'live:start', payload: { sceneId: 'toy/point_reach', policy: 'expert', seed: 1, extra: 1 } }),
      JSON.stringify({ id: 4, channel: 'recording:open', payload: { file: '/etc/passwd' } }),
      JSON.stringify({ id: 5, channel: 'fork:start', payload: { episode: 'zero', step: 1, policy: 'expert' } }),
    ];
    for (const m of bad) {
      const reply = await send(m);
      expect(reply.ok, m).toBe(false);
      expect(reply.error).toBeTruthy();
    }
    expect(await dbg<unknown>('live()')).toEqual(liveBefore);
    const ok = await send(JSON.stringify({ id: 9, channel: 'app:init', payload: {} }));
    expect(ok.ok).toBe(true);
  }, 60_000);

  it('live mode runs a scene in the host and streams frames to the stage', async () => {
    await page.click('#tab-live');
    await page.selectOption('#live-scene', 'toy/point_reach');
    await page.fill('#live-policy', 'expert');
    await page.fill('#live-seed', '3');
    await page.click('#live-start');
    await page.waitForFunction(() => ((window as unknown as { __strideDebug: { live(): { seq: number; sceneId: string } | null } }).__strideDebug.live()?.seq ?? 0) >= 3
      && (window as unknown as { __strideDebug: { live(): { sceneId: string } | null } }).__strideDebug.live()?.sceneId === 'toy/point_reach', null, { timeout: 60_000 });
    await waitDraws();
    const s = await dbg<{ dynamicInstances: number; frameBodies: number }>('stats()');
    expect(s.dynamicInstances).toBe(s.frameBodies);
    expect((await dbg<number[]>('delays()')).length).toBeGreaterThan(0);
    await page.screenshot({ path: join(SHOTS, 'live.png') });
    await page.click('#live-stop');
  }, 120_000);

  it('plots a training run\'s metrics.jsonl and follows it as it grows; plots results/*.json', async () => {
    const runDir = join(work, 'runs', 'demo');
    mkdirSync(runDir, { recursive: true });
    const row = (s: number) => JSON.stringify({ step: s, 'losses/loss': 1 / (1 + s / 50), 'losses/mse': 0.8 / (1 + s / 40), 'perf/samples_per_sec': 900 + (s % 7) * 10, ...(s % 50 === 0 ? { 'eval/success_rate': Math.min(1, s / 400) } : {}) }) + '\n';
    writeFileSync(join(runDir, 'metrics.jsonl'), Array.from({ length: 20 }, (_, i) => row((i + 1) * 10)).join(''));
    await page.click('#tab-training');
    await page.fill('#run-path', 'runs/demo');
    await page.click('#run-follow');
    await page.waitForFunction(() => document.querySelectorAll('#plots .chart canvas').length >= 3, null, { timeout: 60_000 });
    expect((await page.textContent('#run-info'))!).toContain('20 rows');
    appendFileSync(join(runDir, 'metrics.jsonl'), Array.from({ length: 10 }, (_, i) => row((i + 21) * 10)).join(''));
    await page.waitForFunction(() => /30 rows/.test(document.getElementById('run-info')!.textContent ?? ''), null, { timeout: 60_000 });
    const titles = await page.$$eval('#plots .chart', (els) => els.map((e) => (e as HTMLElement).dataset.title));
    expect(titles).toEqual(expect.arrayContaining(['losses', 'eval · rate (0–1)', 'perf · per second']));
    await page.screenshot({ path: join(SHOTS, 'training.png') });

    mkdirSync(join(work, 'results'), { recursive: true });
    writeFileSync(join(work, 'results', 'demos_vs_success.json'), JSON.stringify({ scene: 'toy/point_reach', curve: [10, 20, 40, 80].map((d, i) => ({ demos: d, success: 0.2 + 0.2 * i })) }));
    await page.click('#tab-results');
    await page.waitForFunction(() => document.querySelectorAll('#plots .chart canvas').length >= 1, null, { timeout: 60_000 });
    expect((await page.textContent('#results-info'))!).toContain('1 file');
    // A study result (stride.study/1): the floor-guard line, the claims table with its verdict words, a chart per metric.
    const pooled = (rate: number) => ({ pooled: { k: rate * 10, n: 10, rate, ci95: [Math.max(0, rate - 0.2), Math.min(1, rate + 0.2)] }, perSeed: [rate], ci95Cluster: [0, 1] });
    writeFileSync(join(work, 'results', 'study.json'), JSON.stringify({
      schema: 'stride.study/1', name: 'study', title: 'A study', mode: 'quick', verdict: 'Met (1/2): a. Not decided: b.',
      floorGuard: { arm: 'x', metric: 'success', split: 'validation', minRate: 0.1, rate: 0.5, n: 10, passed: true },
      arms: Object.fromEntries(['x', 'y', 'z'].map((a, i) => [a, { arm: a, metrics: { success: pooled(0.2 * (i + 1)), anyTask: pooled(0.3) } }])),
      claims: [{ id: 'a', met: true, measured: 0.4, ci95: [0.1, 0.6] }, { id: 'b', met: null, measured: 0, ci95: [0, 0] }],
    }));
    await page.click('#results-refresh');
    await page.waitForFunction(() => document.querySelectorAll('table.study-claims tr').length === 3, null, { timeout: 60_000 });
    expect(await page.$$eval('table.study-claims td:nth-child(2)', (els) => els.map((e) => e.textContent))).toEqual(['met', 'not decided']);
    expect((await page.textContent('.study-guard'))!).toContain('passed');
    expect(await page.$$eval('#plots .chart', (els) => els.map((e) => (e as HTMLElement).dataset.title))).toEqual(expect.arrayContaining(['study.json: arms · success', 'study.json: arms · anyTask']));
    // The claim card comes first; a curve-shaped record list (success vs N with its interval) is a line chart with whiskers.
    expect(await page.$eval('#plots h3', (e) => e.textContent)).toBe('study.json');
    expect((await page.textContent('.claim-counts'))!).toBe('1 met · 0 not met · 1 not decided');
    writeFileSync(join(work, 'results', 'success_vs_n.json'), JSON.stringify({ curve: [1, 2, 4, 8, 16].map((n, i) => ({ N: n, rate: 0.2 + 0.15 * i, ci95: [0.1 + 0.15 * i, 0.32 + 0.15 * i] })) }));
    await page.click('#results-refresh');
    await page.waitForFunction(() => (window as any).__strideDebug.charts().some((c: { title: string }) => c.title === 'success_vs_n.json: curve'), null, { timeout: 60_000 });
    const curve = (await dbg<{ title: string; series: number }[]>('charts()')).find((c) => c.title === 'success_vs_n.json: curve')!;
    expect(curve.series).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'results.png') });
  }, 120_000);
  it('draws every overlay kind (marker, zone, dashed polyline, arrow, depth-camera frustum, humanoid ghost)', async () => {
    const p2 = await browser.newPage({ viewport: { width: 900, height: 560 } });
    try {
      await p2.goto(`${url}?bench=1`);
      await p2.waitForFunction(() => (window as unknown as { __strideDebug?: { ready: boolean } }).__strideDebug?.ready === true, null, { timeout: 120_000 });
      const capsule = { kind: 'capsule', radiusM: 0.08, halfHeightM: 0.25 } as const;
      const scene = {
        sceneId: 'test/overlays', focus: [0, 0.5, 0],
        visuals: [
          { id: 1, name: 'ground', shape: { kind: 'box', halfExtentsM: [50, 0.05, 50] }, color: '#8a8f98', isStatic: true, pose: [0, -0.05, 0, 0, 0, 0, 1] },
          { id: 2, name: 'pelvis', shape: capsule, color: '#4a78c2', isStatic: false, pose: [0, 0.9, 0, 0, 0, 0, 1] },
          { id: 3, name: 'wheel', shape: { kind: 'wheel', radiusM: 0.3, widthM: 0.2 }, color: '#222831', isStatic: false, pose: [1.5, 0.3, 0, 0, 0, 0, 1] },
          { id: 4, name: 'can', shape: { kind: 'cylinder', radiusM: 0.1, halfHeightM: 0.2 }, color: '#d04040', isStatic: false, pose: [-1, 0.2, 0.5, 0, 0, 0, 1] },
        ],
      };
      const overlays = [
        { kind: 'marker', id: 'goal', p: [1, 0.2, 1], radiusM: 0.15, color: '#3fb950' },
        { kind: 'zone', id: 'tray', center: [-1, 0, -1], halfExtentsM: [0.4, 0.3], color: '#2f9d57' },
        { kind: 'polyline', id: 'lane', points: [-3, 0, 2, 0, 0, 2, 3, 0, 2.5], color: '#d0a030', dashed: true },
        { kind: 'arrow', id: 'intent', from: [0, 1.5, 0], to: [1, 1.5, 0], color: '#d2a8ff' },
        { kind: 'frustum', id: 'depth', p: [0, 1.6, 0], q: [0, 0, 0, 1], fovDeg: 60, aspect: 1.33, farM: 1.5, color: '#ff8800' },
        { kind: 'ghost', id: 'ref', visuals: [{ id: 2, name: 'pelvis', shape: capsule, color: '#fff', isStatic: false }], poses: [0.4, 0.9, -0.4, 0, 0, 0, 1], color: '#00c0ff' },
      ];
      const frames = [0, 1, 2].map((t) => ({ step: t, tSec: t * 0.05, ids: [2, 3, 4], poses: [0, 0.9, 0, 0, 0, 0, 1, 1.5, 0.3, 0, 0, 0, 0, 1, -1, 0.2, 0.5, 0, 0, 0, 1], overlays, hud: {} }));
      await p2.evaluate(({ s, f }) => (window as unknown as { __strideDebug: { benchLoad(s: unknown, f: unknown): void } }).__strideDebug.benchLoad(s, f), { s: scene, f: frames });
      await p2.waitForFunction(() => (window as unknown as { __strideDebug: { stats(): { overlays: number; drawn: number } } }).__strideDebug.stats().overlays === 6, null, { timeout: 60_000 });
      const st = await p2.evaluate(() => (window as unknown as { __strideDebug: { stats(): { instances: number; dynamicInstances: number } } }).__strideDebug.stats());
      expect(st.instances).toBe(3);
      expect(st.dynamicInstances).toBe(3);
      await p2.waitForTimeout(500);
      await p2.screenshot({ path: join(SHOTS, 'overlays.png') });
    } finally {
      await p2.close();
    }
  }, 120_000);

  it('live: a shift override and act options at start, guidance changed mid-episode, insets; bad input is a one-line error, not a dead session', async () => {
    const live = () => dbg<{ seq: number; sceneId: string; act: { guidance?: number; intent?: number }; overrides: Record<string, unknown>; sensors: { depthBlank: boolean | null; tactile: number } | null } | null>('live()');
    await page.click('#tab-live');
    await page.selectOption('#live-scene', 'manip/push_block');
    await page.fill('#live-policy', 'random');
    await page.fill('#live-seed', '5');
    await page.selectOption('#live-speed', '0.5');
    await page.fill('#live-set', 'shift.occlusion=1, maxSteps=2000');
    await page.$eval('#live-guidance', (e) => { (e as HTMLInputElement).value = '2'; e.dispatchEvent(new Event('input')); });
    await page.selectOption('#live-intent', '3');
    await page.click('#live-start');
    await page.waitForFunction(() => (window as any).__strideDebug.live()?.sceneId === 'manip/push_block' && (window as any).__strideDebug.live().seq >= 2, null, { timeout: 60_000 });
    let l = (await live())!;
    expect(l.act).toEqual({ guidance: 2, intent: 3 });
    expect(l.overrides).toEqual({ 'shift.occlusion': 1, maxSteps: 2000 });
    // Shift toggles for the scene's knobs; occlusion is on (from the override).
    expect(await page.$$eval('#live-shifts input', (els) => els.map((e) => [(e as HTMLInputElement).dataset.path, (e as HTMLInputElement).checked]))).toEqual(
      [['shift.distractors', false], ['shift.occlusion', true], ['shift.cameraJitter', false]]);
    // Guidance slider mid-episode: one live:command, no reset; the host reports the new options on its frames.
    const seqBefore = l.seq;
    await page.$eval('#live-guidance', (e) => { (e as HTMLInputElement).value = '5.5'; e.dispatchEvent(new Event('input')); e.dispatchEvent(new Event('change')); });
    await page.waitForFunction(() => (window as any).__strideDebug.live()?.act.guidance === 5.5, null, { timeout: 60_000 });
    l = (await live())!;
    expect(l.seq).toBeGreaterThan(seqBefore);
    expect(l.act.intent).toBe(3);
    expect((await page.textContent('#live-act'))!).toContain('guidance 5.5');
    // Sensor insets: the depth image is visibly blank while occluded; tactile bars for both pads.
    await page.check('#live-sensors');
    await page.waitForFunction(() => (window as any).__strideDebug.live()?.sensors?.depthBlank === true, null, { timeout: 60_000 });
    expect(await page.isVisible('#insets')).toBe(true);
    expect((await page.textContent('#inset-depth-note'))!).toBe('OCCLUDED');
    expect(await page.$$eval('#inset-tactile-bars .bar', (els) => els.length)).toBe(2);
    await page.screenshot({ path: join(SHOTS, 'live-insets-occluded.png') });
    await page.uncheck('#live-shifts input[data-path="shift.occlusion"]');
    await page.waitForFunction(() => (window as any).__strideDebug.live()?.sensors?.depthBlank === false, null, { timeout: 60_000 });
    // The depth inset now shows the table: not one flat grey.
    const greys = await page.$eval('#inset-depth-canvas', (c) => new Set(Array.from((c as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, 32, 32).data.filter((_, i) => i % 4 === 0))).size);
    expect(greys).toBeGreaterThan(3);
    await page.screenshot({ path: join(SHOTS, 'live-insets.png') });
    // Bad override: one line on the page; the running session keeps going.
    await page.fill('#live-set', 'shift.nope=1');
    await page.click('#live-start');
    await page.waitForFunction(() => document.getElementById('status')!.classList.contains('error'), null, { timeout: 30_000 });
    const msg = (await page.textContent('#status'))!;
    expect(msg).toMatch(/unknown option 'shift\.nope'/);
    expect(msg.includes('\n')).toBe(false);
    const s1 = (await live())!.seq;
    await page.waitForFunction((s) => (window as any).__strideDebug.live().seq > s + 2, s1, { timeout: 60_000 });
    // A malformed command (raw, as a hostile page could send it) is refused; the session is unchanged.
    const reply = await page.evaluate(() => (window as any).__strideDebug.sendRaw(JSON.stringify({ id: 77, channel: 'live:command', payload: { act: { guidance: -3 } } })));
    expect(reply).toMatchObject({ ok: false });
    expect(reply.error).toMatch(/guidance must be ≥ 0/);
    expect((await live())!.act.guidance).toBe(5.5);
    await page.fill('#live-set', '');
    await page.click('#live-stop');
  }, 180_000);

  it('live: dragging the goal marker steers the task (the host passes the new goal to the policy; the HUD shows it); policy overlays toggle', async () => {
    await page.click('#tab-live');
    await page.selectOption('#live-scene', 'toy/point_reach');
    await page.fill('#live-policy', 'expert');
    await page.fill('#live-seed', '7');
    await page.$eval('#live-guidance', (e) => { (e as HTMLInputElement).dataset.touched = ''; });
    await page.selectOption('#live-intent', '');
    await page.click('#live-start');
    await page.waitForFunction(() => (window as any).__strideDebug.live()?.sceneId === 'toy/point_reach' && (window as any).__strideDebug.live().steer, null, { timeout: 60_000 });
    await page.click('#live-pause');
    await page.waitForFunction(() => document.getElementById('live-pause')!.dataset.paused === '1', null, { timeout: 30_000 });
    await waitDraws(3);
    const before = (await dbg<{ steer: number[] }>('live()')).steer;
    const at = await page.evaluate(() => (window as any).__strideDebug.overlayScreen('marker:steer')) as [number, number];
    expect(at).toBeTruthy();
    await page.mouse.move(at[0], at[1]);
    await page.mouse.down();
    await page.mouse.move(at[0] - 120, at[1] + 60, { steps: 8 });
    await page.mouse.up();
    await page.waitForFunction((b) => { const l = (window as any).__strideDebug.live(); return l?.act.goal && Math.hypot(l.steer[0] - b[0], l.steer[2] - b[2]) > 0.1; }, before, { timeout: 60_000 });
    const l = await dbg<{ act: { goal: number[] }; steer: number[] }>('live()');
    // The goal the host passed to the policy is the dropped target, and the scene's goal zone moved there too.
    expect(l.act.goal[0]).toBeCloseTo(l.steer[0]!, 5);
    expect(l.act.goal[2]).toBeCloseTo(l.steer[2]!, 5);
    const hud = (await page.textContent('#hud'))!;
    expect(hud).toContain('goal');
    expect(hud).toContain(l.act.goal[0]!.toFixed(2));
    // Policy overlays: the expert's plan (polyline) and force (arrow); off again hides them.
    await page.check('#live-overlays');
    await page.waitForFunction(() => (window as any).__strideDebug.overlayKeys().includes('polyline:policy:expert-plan'), null, { timeout: 60_000 });
    expect(await page.evaluate(() => (window as any).__strideDebug.overlayKeys())).toEqual(expect.arrayContaining(['arrow:policy:expert-force', 'marker:steer']));
    // Still paused: frame the scene and look (ball, its plan to the dragged target, the force arrow, the marker).
    await page.click('#btn-frame');
    await waitDraws(4);
    await page.screenshot({ path: join(SHOTS, 'live-steer-overlays.png') });
    await page.click('#live-pause');
    await page.waitForFunction(() => (window as any).__strideDebug.live().step > 3, null, { timeout: 60_000 });
    await page.uncheck('#live-overlays');
    await page.waitForFunction(() => !(window as any).__strideDebug.overlayKeys().some((k: string) => k.includes('policy:')), null, { timeout: 60_000 });
    await page.click('#live-stop');
  }, 180_000);

  it('training page: a rate gets its own 0–1 axis, identical series drawn once, switching runs clears the old charts, two runs compare', async () => {
    const mk = (name: string, rows: Record<string, number>[]) => {
      mkdirSync(join(work, 'runs', name), { recursive: true });
      writeFileSync(join(work, 'runs', name, 'metrics.jsonl'), rows.map((r) => JSON.stringify(r) + '\n').join(''));
    };
    const rows = (k: number) => Array.from({ length: 40 }, (_, i) => {
      const s = (i + 1) * 500;
      const loss = k / (1 + s / 4000);
      return { step: s, 'losses/loss': loss, 'losses/mse': loss, 'perf/samples_per_sec': 20000 + 300 * k + (i % 5) * 100, 'perf/workers': 4,
        ...(i % 5 === 4 ? { 'eval/success_rate': Math.min(1, s / (25000 * k)), 'eval/success_rate_ci95_low': Math.max(0, s / (25000 * k) - 0.15), 'eval/success_rate_ci95_high': Math.min(1, s / (25000 * k) + 0.15), 'eval/length_mean': 80 - s / 500 } : {}) };
    });
    mk('bc-a', rows(1));
    mk('bc-b', rows(1.6));
    mk('only-losses', [{ step: 1, 'losses/loss': 1 }, { step: 2, 'losses/loss': 0.5 }]);
    await page.click('#tab-training');
    await page.fill('#run-path', 'runs/bc-a');
    await page.click('#run-follow');
    await page.waitForFunction(() => (window as any).__strideDebug.charts().length >= 5, null, { timeout: 60_000 });
    type C = { title: string; yRange: [number, number] | null; series: number; ticks: string[][] };
    let charts = await dbg<C[]>('charts()');
    const titles = charts.map((c) => c.title);
    expect(titles).toEqual(expect.arrayContaining(['losses', 'eval · rate (0–1)', 'eval · steps', 'perf · per second', 'perf · count']));
    const rate = charts.find((c) => c.title === 'eval · rate (0–1)')!;
    expect(rate.yRange![0]).toBeLessThanOrEqual(0);
    expect(rate.yRange![1]).toBeGreaterThanOrEqual(1);
    expect(rate.series).toBe(1);
    expect(charts.find((c) => c.title === 'losses')!.series).toBe(1); // losses/loss = losses/mse: drawn once
    // Legends show values without hovering; tick labels are SI.
    const legend = await page.$$eval('#plots .chart .u-legend .u-value', (els) => els.map((e) => e.textContent));
    expect(legend.filter((t) => t && t !== '--').length).toBeGreaterThan(4);
    const xTicks = charts.find((c) => c.title === 'losses')!.ticks[0]!;
    expect(xTicks.some((t) => /^\d+(\.\d+)?k$/.test(t))).toBe(true);
    expect(charts.find((c) => c.title === 'perf · per second')!.ticks[1]!.every((t) => t === '' || /k$/.test(t))).toBe(true);
    await page.screenshot({ path: join(SHOTS, 'training-one-run.png') });
    // Switch runs: nothing of the old run stays.
    await page.fill('#run-path', 'runs/only-losses');
    await page.click('#run-follow');
    await page.waitForFunction(() => /only-losses: 2 rows/.test(document.getElementById('run-info')!.textContent ?? ''), null, { timeout: 60_000 });
    charts = await dbg<C[]>('charts()');
    expect(charts.map((c) => c.title)).toEqual(['losses']);
    expect(await page.$$eval('#plots .chart', (els) => els.length)).toBe(1);
    // Compare two runs picked from the list of runs (those with a metrics.jsonl): every panel overlays both.
    await page.waitForFunction(() => document.querySelectorAll('#run-pick option').length >= 3, null, { timeout: 60_000 });
    await page.selectOption('#run-pick', ['runs/bc-a', 'runs/bc-b']);
    await page.click('#run-compare');
    await page.waitForFunction(() => /comparing/.test(document.getElementById('run-info')!.textContent ?? '') && (window as any).__strideDebug.charts().length >= 5, null, { timeout: 60_000 });
    charts = await dbg<C[]>('charts()');
    expect(charts.find((c) => c.title === 'losses')!.series).toBe(2);
    expect(charts.find((c) => c.title === 'eval · rate (0–1)')!.series).toBe(2);
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.screenshot({ path: join(SHOTS, 'training-compare.png') });
    await page.setViewportSize({ width: 900, height: 560 });
  }, 120_000);
});
