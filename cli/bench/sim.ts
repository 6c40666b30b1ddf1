/**
 * `stride bench sim [--scene ID] [--seconds S] [--json]`
 * Per scene: env steps/s through the full Env (actions, substeps, observations incl. sensors, rewards) and,
 * interleaved step by step in the same run, bare `world.step()` on the same world from the same state;
 * overheadRatio = physicsStepsPerSec / rawStepsPerSec (1.0 = the env adds nothing on top of physics). Per-scene figures
 * are medians of per-step times, so preemptions on a shared machine do not skew one side. Then the WorkerVecEnv scaling
 * from 1 to 2 workers at equal envs per worker.
 *
 * JSON: { scenes: { <id>: { envStepsPerSec, substeps, physicsStepsPerSec, rawStepsPerSec, overheadRatio, realtimeFactor } },
 *         vec: { scene, workers: 2, envsPerWorker, envStepsPerSec1, envStepsPerSec2, scaling } }
 */
import type { Command } from 'commander';
import { ACTION, featureSize, listScenes, makeEnv, type SceneEnv } from '../../sim/core/index.ts';
import { restoreWorld, snapshotWorld } from '../../sim/physics/index.ts';
import { WorkerVecEnv } from '../../sim/vec/index.ts';
import { action, info, loadScenes, parseIntOpt, parseNumOpt, printJson } from '../util.ts';
import { MIN_CHARGED_MS, threadCpuClock, threadCpuMs } from './clock.ts';

interface SimBenchOpts { scene?: string; vecScene?: string; envsPerWorker: number; seconds: number; rounds: number; vec: boolean; json?: boolean }

export interface SceneBench {
  envStepsPerSec: number; substeps: number; physicsStepsPerSec: number; rawStepsPerSec: number; overheadRatio: number; realtimeFactor: number;
  /** Scene-specific extras from SceneDef.bench (e.g. depthMsPerFrame). */
  [extra: string]: number;
}

/** Zero action for every scene: PD-held poses, no thrust — the physics work stays comparable. */
function zeroAction(env: SceneEnv): Float32Array {
  return new Float32Array(featureSize(env.actionFeatures[ACTION]!));
}


/**
 * One scene, measured pair by pair: one `env.step()` (timed), then `substeps` bare `world.step()` calls (timed) on a
 * copy of the world restored from a snapshot of exactly the state that step left. Both sides thus do the same physics
 * (same bodies, motor targets, contacts), and the env keeps its own world and caches untouched. Times are the main
 * thread's own CPU time (see clock.ts), so preemption by other processes on a shared machine lands on neither side.
 */
/** A scene measurement gives up (one-line error) rather than print a figure it could not measure. */
const MAX_BENCH_WALL_MS = 120_000;

export function benchScene(id: string, secondsPerRound: number, rounds: number): SceneBench {
  const env = makeEnv(id);
  try {
    const a = zeroAction(env);
    let seed = 0;
    env.reset({ seed: seed++ });
    let envMs = 0, rawMs = 0, pairs = 0;
    const wall0 = performance.now();
    // Until the window has passed AND both sums hold enough clock ticks to divide by (see clock.ts): on a loaded
    // machine a short window can end with one side charged 0 ms, which used to print Infinity (null in JSON).
    const enough = () => threadCpuClock === 'wall' ? rawMs > 0 && envMs > 0 : envMs >= MIN_CHARGED_MS && rawMs >= MIN_CHARGED_MS;
    for (let i = 0; performance.now() - wall0 < secondsPerRound * rounds * 1000 || i < 40 || !enough(); i++) {
      if (performance.now() - wall0 > MAX_BENCH_WALL_MS) throw new Error(`bench sim ${id}: no CPU time measured after ${MAX_BENCH_WALL_MS / 1000} s (clock ${threadCpuClock})`);
      const t0 = threadCpuMs();
      const r = env.step(a);
      const t1 = threadCpuMs();
      if (r.terminated || r.truncated) { env.reset({ seed: seed++ }); continue; }
      const copy = restoreWorld(snapshotWorld(env.physicsWorld));
      const t2 = threadCpuMs();
      for (let k = 0; k < env.substeps; k++) copy.step();
      const t3 = threadCpuMs();
      copy.free();
      if (i >= 10) { envMs += t1 - t0; rawMs += t3 - t2; pairs++; } // the first pairs warm up the JIT and WASM tiers
    }
    const extras = env.def.bench?.(env.physicsWorld, env.state, env.config) ?? {};
    const envStepsPerSec = (1000 * pairs) / envMs;
    const physicsStepsPerSec = envStepsPerSec * env.substeps;
    const rawStepsPerSec = (1000 * env.substeps * pairs) / rawMs;
    return {
      envStepsPerSec: round1(envStepsPerSec), substeps: env.substeps, physicsStepsPerSec: round1(physicsStepsPerSec),
      rawStepsPerSec: round1(rawStepsPerSec), overheadRatio: round3(physicsStepsPerSec / rawStepsPerSec),
      realtimeFactor: round1(envStepsPerSec * env.ctrlDtSec),
      ...extras,
    };
  } finally {
    env.dispose();
  }
}

async function vecThroughput(sceneId: string, workers: number, envsPerWorker: number, seconds: number): Promise<number> {
  const v = await WorkerVecEnv.create({ sceneId, numEnvs: workers * envsPerWorker, numWorkers: workers });
  try {
    await v.reset(0);
    const a = new Float32Array(v.numEnvs * v.actionSize);
    for (let i = 0; i < 10; i++) await v.step(a);
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) { await v.step(a); n++; }
    return (n * v.numEnvs / (performance.now() - t0)) * 1000;
  } finally {
    await v.close();
  }
}

export function register(bench: Command): void {
  bench
    .command('sim')
    .description('env step throughput per scene vs bare physics, and worker scaling')
    .option('--scene <id>', 'only this scene (also the scene of the vec scaling run)')
    .option('--seconds <s>', 'seconds per measurement round', parseNumOpt('seconds', 0, 3600, true), 0.5)
    .option('--rounds <n>', 'interleaved rounds per scene', parseIntOpt('rounds', 1, 1000), 4)
    .option('--vec-scene <id>', 'scene of the worker scaling run (default: --scene, else toy/point_reach)')
    .option('--envs-per-worker <n>', 'envs per worker in the scaling run (more envs amortise the per-step message)', parseIntOpt('envs-per-worker', 1, 1024), 8)
    .option('--no-vec', 'skip the worker scaling measurement')
    .option('--json', 'print JSON on stdout')
    .action(action(async (opts: SimBenchOpts) => {
      await loadScenes();
      const { seconds, rounds } = opts;
      const ids = opts.scene ? [opts.scene] : listScenes().map((s) => s.id);
      if (opts.scene) makeEnv(opts.scene).dispose(); // unknown id ⇒ clear error before any work
      const scenes: Record<string, SceneBench> = {};
      for (const id of ids) {
        scenes[id] = benchScene(id, seconds, rounds);
        info(!!opts.json, `${id}: ${scenes[id]!.envStepsPerSec} env steps/s, overheadRatio ${scenes[id]!.overheadRatio}, realtime ×${scenes[id]!.realtimeFactor}`);
      }
      const out: Record<string, unknown> = { clock: threadCpuClock, scenes };
      if (opts.vec) {
        const vecScene = opts.vecScene ?? opts.scene ?? 'toy/point_reach';
        const envsPerWorker = opts.envsPerWorker;
        if (opts.vecScene) makeEnv(opts.vecScene).dispose();
        // Interleave 1- and 2-worker runs so load changes on the machine affect both.
        let s1 = 0, s2 = 0;
        for (let r = 0; r < 2; r++) {
          s1 += await vecThroughput(vecScene, 1, envsPerWorker, seconds * 2);
          s2 += await vecThroughput(vecScene, 2, envsPerWorker, seconds * 2);
        }
        s1 /= 2; s2 /= 2;
        out.vec = { scene: vecScene, workers: 2, envsPerWorker, envStepsPerSec1: round1(s1), envStepsPerSec2: round1(s2), scaling: round3(s2 / s1) };
        info(!!opts.json, `vec ${vecScene}: 1 worker ${round1(s1)} env steps/s, 2 workers ${round1(s2)}, scaling ${round3(s2 / s1)}`);
      }
      if (opts.json) printJson(out);
    }));
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const round3 = (x: number) => Math.round(x * 1000) / 1000;
