/**
 * `stride bench train [--json] [--steps N] [--batch B] [--backend B] [--workers W]`
 * Training throughput of the Diffusion-Policy-sized MLP (193→512→512→512→128) with Adam, next to a plain 512×512
 * matmul measured in the same run. FLOPs per step = 6·Σ(in·out)·batch (forward 2, backward 4 per MAC).
 * JSON: { backend, layerShapes, batch, trainStepMs, gflops, matmulPeakGflops, utilization, workers, scaling2, ... }.
 */
import type { Command } from 'commander';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../sim/math/rng.ts';
import { percentile } from '../../sim/math/stats.ts';
import { initBackend } from '../../policies/common/backend.ts';
import { Adam, defaultAdam } from '../../policies/common/params.ts';
import { createTrainable } from '../../policies/train/bench_mlp.ts';
import { trainStep } from '../../policies/train/step.ts';
import { DataParallelTrainer } from '../../policies/train/data_parallel.ts';
import type { Batch } from '../../policies/train/trainable.ts';
import { action, info, parseIntOpt, printJson } from '../util.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

interface Opts { json?: boolean; steps: number; batch: number; backend: string; workers: number }

/** Median by sim/math/stats.ts's one rank rule (R-7: the mean of the middle two for an even count). */
const median = (xs: number[]): number => percentile(xs, 0.5);

function makeBatch(rng: Rng, shapes: number[], batch: number): Batch {
  const inD = shapes[0]!, outD = shapes[shapes.length - 1]!;
  const x = new Float32Array(batch * inD), y = new Float32Array(batch * outD);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  for (let i = 0; i < y.length; i++) y[i] = rng.normal();
  return { x: { data: x, shape: [batch, inD] }, y: { data: y, shape: [batch, outD] } };
}

export function register(bench: Command): void {
  bench
    .command('train')
    .description('training throughput of the diffusion-policy MLP vs plain matmul peak; data-parallel scaling')
    .option('--json', 'print JSON on stdout')
    .option('--steps <n>', 'timed steps per measurement', parseIntOpt('steps', 1), 10)
    .option('--batch <n>', 'batch size', parseIntOpt('batch', 1), 256)
    .option('--backend <name>', 'auto | node-gpu | node | wasm | cpu', 'auto')
    .option('--workers <n>', 'data-parallel workers for the scaling figure', parseIntOpt('workers', 1), 2)
    .action(action(async (opts: Opts) => {
      const backend = await initBackend(opts.backend);
      const layerShapes = [193, 512, 512, 512, 128];
      const macs = layerShapes.slice(1).reduce((a, o, i) => a + layerShapes[i]! * o, 0);
      const flopsPerStep = 6 * macs * opts.batch;
      const rng = new Rng(1);

      // --- plain matmul peak (same run) ---
      const a = tf.randomNormal([512, 512]), b = tf.randomNormal([512, 512]);
      const mm: number[] = [], mmCpu: number[] = [];
      for (let i = 0; i < 3 + opts.steps * 2; i++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const c = tf.matMul(a, b); c.dataSync(); c.dispose();
        if (i >= 3) { mm.push(performance.now() - t0); mmCpu.push(cpuMs(c0)); }
      }
      a.dispose(); b.dispose();
      const matmulPeakGflops = (2 * 512 ** 3) / (Math.min(...mm) * 1e6);
      const matmulMedianGflops = (2 * 512 ** 3) / (median(mm) * 1e6);
      info(!!opts.json, `matmul 512²: best ${Math.min(...mm).toFixed(2)} ms (${matmulPeakGflops.toFixed(1)} GFLOP/s)`);

      // --- in-process train step ---
      const t = createTrainable({ layerShapes }, 0);
      const opt = new Adam(t.params, defaultAdam());
      const batch = makeBatch(rng, layerShapes, opts.batch);
      const times: number[] = [], cpu: number[] = [];
      for (let i = 0; i < 2 + opts.steps; i++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        trainStep(t, opt, batch, rng);
        if (i >= 2) { times.push(performance.now() - t0); cpu.push(cpuMs(c0)); }
      }
      opt.dispose(); t.params.dispose();
      const trainStepMs = median(times);
      const gflops = flopsPerStep / (trainStepMs * 1e6);
      info(!!opts.json, `train step (batch ${opts.batch}): median ${trainStepMs.toFixed(1)} ms → ${gflops.toFixed(1)} GFLOP/s`);

      // --- data-parallel: 1 worker vs W workers, same global batch ---
      const dpMs = async (w: number): Promise<number> => {
        const dp = await DataParallelTrainer.start({ module: path.join(here, '../../policies/train/bench_mlp.ts'), config: { layerShapes }, seed: 0, workers: w, backend, adam: defaultAdam() });
        try {
          const ts: number[] = [];
          for (let i = 0; i < 2 + opts.steps; i++) {
            const bt = makeBatch(rng, layerShapes, opts.batch);
            const t0 = performance.now();
            await dp.step(bt, i);
            if (i >= 2) ts.push(performance.now() - t0);
          }
          return median(ts);
        } finally {
          await dp.close();
        }
      };
      let scaling2: number | null = null, dp1Ms: number | null = null, dpWMs: number | null = null;
      if (opts.workers >= 2) {
        dp1Ms = await dpMs(1);
        dpWMs = await dpMs(opts.workers);
        scaling2 = dp1Ms / dpWMs;
        info(!!opts.json, `data-parallel step: 1 worker ${dp1Ms.toFixed(1)} ms, ${opts.workers} workers ${dpWMs.toFixed(1)} ms → ×${scaling2.toFixed(2)}`);
      }
      const out = {
        backend, layerShapes, batch: opts.batch, params: macs + layerShapes.slice(1).reduce((x, y) => x + y, 0),
        trainStepMs: round(trainStepMs), gflops: round(gflops), matmulPeakGflops: round(matmulPeakGflops), matmulMedianGflops: round(matmulMedianGflops),
        utilization: round(gflops / matmulPeakGflops),
        // CPU-time figures: less sensitive to other processes sharing the cores (same formulas over process CPU time).
        trainStepCpuMs: round(median(cpu)), matmulCpuMs: round(Math.min(...mmCpu)),
        utilizationCpu: round((flopsPerStep / median(cpu)) / ((2 * 512 ** 3) / Math.min(...mmCpu))), workers: opts.workers, dp1StepMs: dp1Ms && round(dp1Ms), dpStepMs: dpWMs && round(dpWMs),
        scaling2: scaling2 && round(scaling2), loadavg: (await import('node:os')).loadavg().map(round),
      };
      if (opts.json) printJson(out);
    }));
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1000;
}

function round(x: number): number { return Math.round(x * 1000) / 1000; }
