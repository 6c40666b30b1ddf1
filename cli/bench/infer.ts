/**
 * `stride bench infer [--json] [--iters N] [--backend B]`
 * Batch-1 `act()` latency (observation normalisation, sampler, action de-normalisation and clipping included) on the
 * Diffusion-Policy-sized MLP (193→512→512→512→128: an 16×8 action chunk + 64 observation values + 1 noise-level
 * input): a 3-step EDM (DDIM/DPM-1) sampler, a 10-step DDIM sampler and a 16-candidate 10-step rectified-flow Euler
 * sampler. Each is measured with two engines — TensorFlow.js ops and plain-JS matmuls over the same weights — and
 * the headline figure is the faster engine. Wall-clock percentiles plus process CPU time per call (cpuP50Ms/cpuP99Ms;
 * less sensitive to other processes on a shared machine, but not a latency). Also `fdpDdim10`: one composed FDP
 * sampling call (policies/fdp, the study's shapes: base 3×128 on state + goal + cue, block-wise residual 3×128 on
 * those + the 32×32 depth encoder, Tp = 8 × 4 actions; normalisation, DDIM-10, de-normalisation and clipping), both
 * engines (TF.js ops, and the plain-JS engine `useJsEngine`). JSON: { backend, edm3: { p50Ms, p99Ms, engine },
 * ddim10, flow16x10, fdpDdim10, engines }.
 */
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../sim/math/rng.ts';
import { percentile } from '../../sim/math/stats.ts';
import { initBackend } from '../../policies/common/backend.ts';
import { JsMlp } from '../../policies/common/js_mlp.ts';
import { Mlp, defaultMlp } from '../../policies/common/nn.ts';
import { Normalizer } from '../../policies/common/normalizer.ts';
import { Params } from '../../policies/common/params.ts';
import { ddpmSchedule, edmDenoiser, exponentialSigmas, randn, sampleDdim, sampleEdm, sampleFlowEuler } from '../../policies/common/schedules.ts';
import { FdpPolicy, defaultFdpConfig } from '../../policies/fdp/index.ts';
import type { PolicySpec } from '../../policies/common/policy.ts';
import { action, info, parseIntOpt, printJson } from '../util.ts';

interface Opts { json?: boolean; iters: number; backend: string }

const CHUNK = 128, OBS = 64, ACT = 8;

/** The p-quantile by sim/math/stats.ts's one rank rule (R-7, linear interpolation). */
const pct = (xs: number[], p: number): number => percentile(xs, p);

export function register(bench: Command): void {
  bench
    .command('infer')
    .description('batch-1 act() latency of EDM-3, DDIM-10 and 16×10 flow samplers on the diffusion-policy MLP')
    .option('--json', 'print JSON on stdout')
    .option('--iters <n>', 'timed act() calls per sampler and engine', parseIntOpt('iters', 10), 300)
    .option('--backend <name>', 'auto | node-gpu | node | wasm | cpu', 'auto')
    .action(action(async (opts: Opts) => {
      const backend = await initBackend(opts.backend);
      const params = new Params(new Rng(0));
      const mlp = new Mlp(params, 'bench', defaultMlp(CHUNK + OBS + 1, CHUNK, { hidden: [512, 512, 512] }));
      const jsMlp = new JsMlp(mlp, params.toArrays());
      const obsNorm = Normalizer.fromStats('minmax', { min: Array(OBS).fill(-3), max: Array(OBS).fill(3), mean: [], std: [] });
      const actNorm = Normalizer.fromStats('minmax', { min: Array(ACT).fill(-2), max: Array(ACT).fill(2), mean: [], std: [] });
      const rng = new Rng(1);
      const obsRaw = Float32Array.from({ length: OBS }, () => rng.uniform(-3, 3));

      type Net = (x: Float32Array, rows: number, obsN: Float32Array, s: number) => Float32Array;
      const input = (x: Float32Array, rows: number, obsN: Float32Array, s: number) => {
        const inp = new Float32Array(rows * (CHUNK + OBS + 1));
        for (let r = 0; r < rows; r++) {
          const o = r * (CHUNK + OBS + 1);
          inp.set(x.subarray(r * CHUNK, (r + 1) * CHUNK), o); inp.set(obsN, o + CHUNK); inp[o + CHUNK + OBS] = s;
        }
        return inp;
      };
      const engines: Record<string, Net> = {
        js: (x, rows, obsN, s) => jsMlp.apply(input(x, rows, obsN, s), rows),
        tfjs: (x, rows, obsN, s) => {
          const inp = input(x, rows, obsN, s);
          return tf.tidy(() => mlp.apply(tf.tensor2d(inp, [rows, CHUNK + OBS + 1])).dataSync() as Float32Array);
        },
      };
      const sched = ddpmSchedule(100);
      const sigmas = exponentialSigmas(3, 0.05, 1);
      const finish = (xN: Float32Array) => {
        const a = actNorm.denormalize(xN);
        for (let i = 0; i < a.length; i++) a[i] = Math.max(-2, Math.min(2, a[i]!));
        return a;
      };
      const samplers: Record<string, (net: Net) => Float32Array> = {
        edm3: (net) => {
          const obsN = obsNorm.normalize(obsRaw);
          const D = edmDenoiser((xin, cNoise) => net(xin, 1, obsN, cNoise), 0.5);
          return finish(sampleEdm('ddim', D, randn(rng, CHUNK, sigmas[0]!), sigmas));
        },
        ddim10: (net) => {
          const obsN = obsNorm.normalize(obsRaw);
          return finish(sampleDdim(sched, (x, t) => net(x, 1, obsN, t / 100), randn(rng, CHUNK), 10, 0, undefined, 1));
        },
        flow16x10: (net) => {
          const obsN = obsNorm.normalize(obsRaw);
          const x = sampleFlowEuler((xx, tau) => net(xx, 16, obsN, tau), randn(rng, 16 * CHUNK), 10);
          return finish(x.subarray(0, CHUNK)); // candidate selection is the caller's; the first is returned
        },
      };
      const results: Record<string, Record<string, { p50Ms: number; p99Ms: number; cpuP50Ms: number; cpuP99Ms: number }>> = {};
      for (const [sname, sampler] of Object.entries(samplers)) {
        results[sname] = {};
        for (const [ename, net] of Object.entries(engines)) {
          const iters = sname === 'flow16x10' ? Math.max(10, Math.floor(opts.iters / 3)) : opts.iters;
          for (let i = 0; i < 10; i++) sampler(net);
          const ts: number[] = [], cpu: number[] = [];
          for (let i = 0; i < iters; i++) {
            const c0 = process.cpuUsage();
            const t0 = performance.now();
            sampler(net);
            ts.push(performance.now() - t0);
            const c = process.cpuUsage(c0);
            cpu.push((c.user + c.system) / 1000);
          }
          results[sname]![ename] = { p50Ms: round(pct(ts, 0.5)), p99Ms: round(pct(ts, 0.99)), cpuP50Ms: round(pct(cpu, 0.5)), cpuP99Ms: round(pct(cpu, 0.99)) };
          info(!!opts.json, `${sname} [${ename}]: wall p50 ${pct(ts, 0.5).toFixed(3)} ms, p99 ${pct(ts, 0.99).toFixed(3)} ms; cpu p50 ${pct(cpu, 0.5).toFixed(3)} ms (${iters} calls)`);
        }
      }
      // --- FDP: one composed sampling call (predictRaw = act()'s planning step), both engines ---
      const fdp = benchFdp();
      results.fdpDdim10 = {};
      const win = Float32Array.from({ length: fdp.obsDim }, () => rng.uniform(0, 1));
      for (const ename of ['tfjs', 'js']) {
        fdp.useJsEngine(ename === 'js');
        for (let i = 0; i < 10; i++) fdp.predictRaw(win, 1);
        const ts: number[] = [], cpu: number[] = [];
        for (let i = 0; i < opts.iters; i++) {
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          fdp.predictRaw(win, 1);
          ts.push(performance.now() - t0);
          const c = process.cpuUsage(c0);
          cpu.push((c.user + c.system) / 1000);
        }
        results.fdpDdim10[ename] = { p50Ms: round(pct(ts, 0.5)), p99Ms: round(pct(ts, 0.99)), cpuP50Ms: round(pct(cpu, 0.5)), cpuP99Ms: round(pct(cpu, 0.99)) };
        info(!!opts.json, `fdpDdim10 [${ename}]: wall p50 ${pct(ts, 0.5).toFixed(3)} ms, p99 ${pct(ts, 0.99).toFixed(3)} ms; cpu p50 ${pct(cpu, 0.5).toFixed(3)} ms (${opts.iters} calls)`);
      }
      const fdpParams = fdp.params.count();
      fdp.dispose();
      const best = (s: string) => {
        const [engine, r] = Object.entries(results[s]!).sort((a, b) => a[1].p99Ms - b[1].p99Ms)[0]!;
        return { ...r, engine };
      };
      params.dispose();
      const out = {
        backend, layerShapes: [CHUNK + OBS + 1, 512, 512, 512, CHUNK], edm3: best('edm3'), ddim10: best('ddim10'), flow16x10: best('flow16x10'),
        fdpDdim10: { ...best('fdpDdim10'), params: fdpParams, vsDdim10: round(best('fdpDdim10').p99Ms / best('ddim10').p99Ms) },
        engines: results, targetsP99Ms: { edm3: 0.5, ddim10: 2, flow16x10: 5, fdpDdim10: round(Math.min(5, 2.5 * best('ddim10').p99Ms)) }, loadavg: (await import('node:os')).loadavg().map(round),
      };
      if (opts.json) printJson(out);
    }));
}

function round(x: number): number { return Math.round(x * 1000) / 1000; }

/** An FDP policy of the study's shapes (phase 2, block-wise) on push_block-like features, seeded weights. */
function benchFdp(): FdpPolicy {
  const f = (shape: number[], kind: string) => ({ kind, shape, dtype: 'float32' }) as PolicySpec['features']['observation'][string];
  const observation = { 'observation.state': f([13], 'state'), 'observation.goal': f([2], 'goal'), 'observation.object_cue': f([2], 'object'), 'observation.depth': { ...f([32, 32], 'depth'), low: 0, high: 1.5 } };
  const frame = 13 + 2 + 2 + 1024;
  const keys = ['observation.state', 'observation.goal', 'observation.object_cue', 'observation.depth'];
  const spec: PolicySpec = {
    method: 'fdp', features: { observation, action: { action: { kind: 'action', shape: [4], dtype: 'float32', low: -1, high: 1 } } },
    config: { ...defaultFdpConfig(), obsKeys: keys, priority: keys.slice(0, 3), rest: keys.slice(3), phase: 'residual' } as unknown as Record<string, unknown>,
    normalizers: {
      obs: Normalizer.fromStats('minmax', { min: Array(frame).fill(0), max: Array(frame).fill(1.5), mean: [], std: [] }).toJSON(),
      action: Normalizer.fromStats('minmax', { min: Array(4).fill(-1), max: Array(4).fill(1), mean: [], std: [] }).toJSON(),
    },
  };
  const p = new FdpPolicy(spec, 0);
  // non-zero residual outputs, so the composition is exercised
  tf.tidy(() => { for (const n of p.resParamNames) { const v = p.params.get(n); v.assign(tf.add(v, tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', 5), 0.01))); } });
  p.ema?.assignArrays(p.params.toArrays());
  return p;
}
