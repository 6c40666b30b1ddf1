/**
 * `stride bench view [--json] [--seconds S] [--humanoids N]`
 *
 * Renderer throughput and live latency of the viewer in headless Chromium (SwiftShader, 640×480):
 * - fps: draws per second of the stage with N humanoids (≈ 13 bodies each; the registered humanoid/walk scene tiled
 *   N times, or synthetic capsule humanoids when it is not registered) + ground, poses changing every draw;
 * - frameDelayMs: mean delay from the moment the sim host produced a live frame to the end of its draw, in live mode
 *   (web server + WebSocket + renderer), with its p95 and the scene's control period to compare against.
 * The machine's load average is printed alongside: fps and delay are only comparable on an idle machine, while
 * framesPerCpuSec (frames per CPU-second of the Chromium process tree) measures the cost of a frame regardless of load.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { Command } from 'commander';
import { chromium, type Browser } from 'playwright-core';
import { getScene, listScenes, makeEnv } from '../../sim/core/registry.ts';
import type { RenderFrame, RenderScene, RenderVisual } from '../../sim/core/render.ts';
import { builtinPolicy } from '../../sim/core/policy.ts';
import { percentile } from '../../sim/math/stats.ts';
import { action, CliError, info, loadScenes, parseIntOpt, printJson } from '../util.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'];

export async function launchChromium(): Promise<{ browser: Browser; pid: number | null; close(): Promise<void> }> {
  if (!existsSync(CHROMIUM)) throw new CliError(`${CHROMIUM} is missing: apt-get install -y chromium`);
  const server = await chromium.launchServer({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const browser = await chromium.connect(server.wsEndpoint());
  return { browser, pid: server.process().pid ?? null, close: async () => { await browser.close(); await server.close(); } };
}

/**
 * CPU seconds (user + system) used so far by a process and all its descendants (Linux /proc; 0 elsewhere).
 * Frames per CPU-second is the renderer's cost independent of how busy the machine is.
 */
export function treeCpuSec(rootPid: number | null): number {
  if (rootPid === null || !existsSync('/proc')) return 0;
  const parent = new Map<number, number>(), cpu = new Map<number, number>();
  const hz = 100;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(d), Number(f[1]));
      cpu.set(Number(d), (Number(f[11]) + Number(f[12])) / hz);
    } catch { /* exited */ }
  }
  let total = 0;
  for (const [pid, c] of cpu) {
    let p: number | undefined = pid;
    for (let hops = 0; p !== undefined && p > 1 && hops < 32; hops++) {
      if (p === rootPid) { total += c; break; }
      p = parent.get(p);
    }
  }
  return total;
}

interface BenchOpts { json?: boolean; seconds: number; humanoids: number }

export function register(bench: Command): void {
  bench
    .command('view')
    .description('viewer fps with N humanoids in headless Chromium (SwiftShader, 640×480) and live sim→draw delay')
    .option('--seconds <s>', 'measurement window per figure', parseIntOpt('seconds', 1), 5)
    .option('--humanoids <n>', 'humanoids on stage', parseIntOpt('humanoids', 1), 16)
    .option('--json', 'print JSON on stdout')
    .action(action(async (opts: BenchOpts) => {
      await loadScenes();
      const out = await benchView(opts, (l) => info(!!opts.json, l));
      if (opts.json) printJson(out);
      else info(false, `fps ${out.fps.toFixed(1)} with ${out.bodies} bodies; live delay ${out.frameDelayMs.toFixed(1)} ms (p95 ${out.frameDelayP95Ms.toFixed(1)} ms, control period ${out.ctrlPeriodMs} ms)`);
    }));
}

/** N humanoids: the registered humanoid/walk tiled on a grid (random actions), else synthetic capsule people. */
export function humanoidCrowd(n: number, frames = 90): { scene: RenderScene; frames: RenderFrame[]; source: string } {
  const cols = Math.ceil(Math.sqrt(n)), spacingM = 2.0;
  const offsets = Array.from({ length: n }, (_, i) => [(i % cols - (cols - 1) / 2) * spacingM, Math.floor(i / cols - (cols - 1) / 2) * spacingM] as const);
  let base: { visuals: RenderVisual[]; frames: RenderFrame[] };
  let source: string;
  if (listScenes().some((s) => s.id === 'humanoid/walk')) {
    getScene('humanoid/walk');
    const env = makeEnv('humanoid/walk');
    try {
      env.reset({ seed: 0 });
      const rs = env.renderScene();
      const ids = rs.visuals.filter((v) => !v.isStatic).map((v) => v.id);
      const act = builtinPolicy('random')(env);
      const fr: RenderFrame[] = [];
      let obs = env.reset({ seed: 0 }).obs;
      for (let t = 0; t < frames; t++) {
        const r = env.step(act(obs, t));
        obs = r.obs;
        fr.push(env.renderFrame(ids));
        if (r.terminated || r.truncated) obs = env.reset({ seed: t + 1 }).obs;
      }
      base = { visuals: rs.visuals, frames: fr };
      source = 'humanoid/walk (random actions)';
    } finally {
      env.dispose();
    }
  } else {
    base = syntheticHumanoid(frames);
    source = 'synthetic capsule humanoid';
  }
  const ground = base.visuals.filter((v) => v.isStatic);
  const dyn = base.visuals.filter((v) => !v.isStatic);
  const idStride = 1 + Math.max(...base.visuals.map((v) => v.id));
  const visuals: RenderVisual[] = [...ground];
  for (let c = 0; c < n; c++) {
    const [dx, dz] = offsets[c]!;
    for (const v of dyn) visuals.push({ ...v, id: v.id + (c + 1) * idStride, pose: v.pose ? [v.pose[0]! + dx, v.pose[1]!, v.pose[2]! + dz, ...v.pose.slice(3)] : undefined });
  }
  const out: RenderFrame[] = [];
  for (let t = 0; t < base.frames.length; t++) {
    const ids: number[] = [], poses: number[] = [];
    for (let c = 0; c < n; c++) {
      const f = base.frames[(t + c * 7) % base.frames.length]!;
      const [dx, dz] = offsets[c]!;
      f.ids.forEach((id, i) => {
        ids.push(id + (c + 1) * idStride);
        const p = f.poses.slice(i * 7, i * 7 + 7);
        poses.push(p[0]! + dx, p[1]!, p[2]! + dz, p[3]!, p[4]!, p[5]!, p[6]!);
      });
    }
    out.push({ step: t, tSec: t * 0.025, ids, poses, overlays: [], hud: {} });
  }
  return { scene: { sceneId: `bench/${n}-humanoids`, visuals, focus: [0, 1, 0] }, frames: out, source };
}

/** 13 capsules/spheres swaying in place (used when no humanoid scene is registered). */
function syntheticHumanoid(frames: number): { visuals: RenderVisual[]; frames: RenderFrame[] } {
  const parts: [string, RenderVisual['shape'], number, number, number][] = [
    ['pelvis', { kind: 'capsule', radiusM: 0.09, halfHeightM: 0.06 }, 0, 0.95, 0], ['torso', { kind: 'capsule', radiusM: 0.11, halfHeightM: 0.12 }, 0, 1.25, 0],
    ['head', { kind: 'sphere', radiusM: 0.1 }, 0, 1.6, 0],
    ['thighL', { kind: 'capsule', radiusM: 0.06, halfHeightM: 0.15 }, 0, 0.7, 0.1], ['thighR', { kind: 'capsule', radiusM: 0.06, halfHeightM: 0.15 }, 0, 0.7, -0.1],
    ['shinL', { kind: 'capsule', radiusM: 0.05, halfHeightM: 0.15 }, 0, 0.32, 0.1], ['shinR', { kind: 'capsule', radiusM: 0.05, halfHeightM: 0.15 }, 0, 0.32, -0.1],
    ['footL', { kind: 'box', halfExtentsM: [0.1, 0.03, 0.045] }, 0.04, 0.04, 0.1], ['footR', { kind: 'box', halfExtentsM: [0.1, 0.03, 0.045] }, 0.04, 0.04, -0.1],
    ['upperArmL', { kind: 'capsule', radiusM: 0.045, halfHeightM: 0.1 }, 0, 1.25, 0.22], ['upperArmR', { kind: 'capsule', radiusM: 0.045, halfHeightM: 0.1 }, 0, 1.25, -0.22],
    ['forearmL', { kind: 'capsule', radiusM: 0.04, halfHeightM: 0.1 }, 0, 1.0, 0.22], ['forearmR', { kind: 'capsule', radiusM: 0.04, halfHeightM: 0.1 }, 0, 1.0, -0.22],
  ];
  const visuals: RenderVisual[] = [
    { id: 0, name: 'ground', shape: { kind: 'box', halfExtentsM: [50, 0.05, 50] }, color: '#8a8f98', isStatic: true, pose: [0, -0.05, 0, 0, 0, 0, 1] },
    ...parts.map(([name, shape, x, y, z], i) => ({ id: i + 1, name, shape, color: i < 3 ? '#d9b38c' : '#4a78c2', isStatic: false, pose: [x, y, z, 0, 0, 0, 1] })),
  ];
  const fr: RenderFrame[] = [];
  for (let t = 0; t < frames; t++) {
    const ids: number[] = [], poses: number[] = [];
    parts.forEach(([, , x, y, z], i) => {
      const a = 0.3 * Math.sin((2 * Math.PI * t) / frames + i);
      ids.push(i + 1);
      poses.push(x, y, z, 0, 0, Math.sin(a / 2), Math.cos(a / 2));
    });
    fr.push({ step: t, tSec: t * 0.025, ids, poses, overlays: [], hud: {} });
  }
  return { visuals, frames: fr };
}

export interface ViewBench {
  fps: number; frameDelayMs: number; bodies: number;
  /** Frames drawn per CPU-second of the whole Chromium process tree (load-independent cost of a frame). */
  framesPerCpuSec: number;
  frameDelayP95Ms: number; ctrlPeriodMs: number; delayScene: string; liveFrames: number;
  /** The same delay with toy/point_reach (one body, 50 ms control period): transport + one cheap draw. */
  frameDelayOneBodyMs: number; frameDelayOneBodyP95Ms: number;
  width: number; height: number; humanoids: number; crowdSource: string; gl: string; loadAvg1m: number;
}

export async function benchView(o: { seconds: number; humanoids: number }, log: (l: string) => void = () => undefined): Promise<ViewBench> {
  const { startWebServer } = await import('../../electron/main/server.ts');
  const crowd = humanoidCrowd(o.humanoids);
  const bodies = crowd.frames[0]!.ids.length;
  const srv = await startWebServer({ port: 0, cwd: process.cwd() });
  const chrome = await launchChromium();
  const browser = chrome.browser;
  try {
    const width = 640, height = 480;
    // --- fps: N humanoids, new poses every draw ---
    const page = await browser.newPage({ viewport: { width: width + 320, height: height + 90 } });
    await page.goto(`${srv.url}?bench=1`);
    await page.waitForFunction(() => (window as unknown as { __strideDebug?: { ready: boolean } }).__strideDebug?.ready === true, null, { timeout: 120_000 });
    await page.evaluate(() => { const v = document.getElementById('view3d')!; v.style.flex = 'none'; v.style.width = '640px'; v.style.height = '480px'; });
    await page.evaluate(({ scene, frames }) => (window as unknown as { __strideDebug: { benchLoad(s: unknown, f: unknown): void } }).__strideDebug.benchLoad(scene, frames), { scene: crowd.scene, frames: crowd.frames });
    const gl = await page.evaluate(() => {
      const c = document.createElement('canvas').getContext('webgl2');
      const ext = c?.getExtension('WEBGL_debug_renderer_info');
      return ext ? String(c!.getParameter(ext.UNMASKED_RENDERER_WEBGL)) : 'unknown';
    });
    await page.waitForTimeout(1500);
    const drawn = () => page.evaluate(() => ({ n: (window as unknown as { __strideDebug: { stats(): { drawn: number } } }).__strideDebug.stats().drawn, t: performance.now() }));
    const a = await drawn();
    const cpu0 = treeCpuSec(chrome.pid);
    await page.waitForTimeout(o.seconds * 1000);
    const b = await drawn();
    const cpu1 = treeCpuSec(chrome.pid);
    const fps = ((b.n - a.n) * 1000) / (b.t - a.t);
    const fpsPerCpuSec = cpu1 > cpu0 ? (b.n - a.n) / (cpu1 - cpu0) : NaN;
    log(`fps ${fps.toFixed(1)} with ${bodies} bodies (${crowd.source}, ${gl}); ${fpsPerCpuSec.toFixed(1)} frames per CPU-second of Chromium`);
    await page.close();

    // --- live delay: sim host → WebSocket → draw (the heavy scene, then toy/point_reach: one body, transport-bound) ---
    const delayScene = listScenes().some((s) => s.id === 'humanoid/walk') ? 'humanoid/walk' : 'toy/point_reach';
    const ctrlPeriodMs = getScene(delayScene).defaultConfig().ctrlDtSec * 1000;
    const measureDelay = async (sceneId: string, policy: string) => {
      const live = await browser.newPage({ viewport: { width: width + 320, height: height + 90 } });
      await live.goto(srv.url);
      await live.waitForFunction(() => (window as unknown as { __strideDebug?: { ready: boolean } }).__strideDebug?.ready === true, null, { timeout: 120_000 });
      await live.evaluate(() => { const v = document.getElementById('view3d')!; v.style.flex = 'none'; v.style.width = '640px'; v.style.height = '480px'; });
      await live.selectOption('#live-scene', sceneId);
      await live.fill('#live-policy', policy);
      await live.click('#live-start');
      await live.waitForTimeout(o.seconds * 1000);
      const delays = await live.evaluate(() => (window as unknown as { __strideDebug: { delays(): number[] } }).__strideDebug.delays());
      await live.click('#live-stop');
      await live.close();
      const sorted = delays.slice(1).sort((x, y) => x - y);
      const mean = sorted.reduce((a, x) => a + x, 0) / Math.max(1, sorted.length);
      const p95 = percentile(sorted, 0.95); // NaN when no frame was drawn
      log(`live delay ${mean.toFixed(1)} ms mean, p95 ${p95.toFixed(1)} ms over ${sorted.length} drawn frames (${sceneId}, control period ${getScene(sceneId).defaultConfig().ctrlDtSec * 1000} ms)`);
      return { mean, p95, n: sorted.length };
    };
    // 'zero' keeps the humanoid standing (PD hold) for the whole window; random actions make it fall within a second.
    const heavy = await measureDelay(delayScene, delayScene === 'humanoid/walk' ? 'zero' : 'expert');
    const light = delayScene === 'toy/point_reach' ? heavy : await measureDelay('toy/point_reach', 'zero');
    return {
      fps: round(fps), frameDelayMs: round(heavy.mean), bodies, framesPerCpuSec: round(fpsPerCpuSec),
      frameDelayP95Ms: round(heavy.p95), ctrlPeriodMs, delayScene, liveFrames: heavy.n,
      frameDelayOneBodyMs: round(light.mean), frameDelayOneBodyP95Ms: round(light.p95),
      width, height, humanoids: o.humanoids, crowdSource: crowd.source, gl, loadAvg1m: round(loadavg()[0]!),
    };
  } finally {
    await chrome.close();
    await srv.close();
  }
}

const round = (x: number) => Math.round(x * 10) / 10;
