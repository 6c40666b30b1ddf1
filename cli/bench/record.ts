/**
 * `stride bench record [--scene ID] [--episodes N] [--rounds R] [--json]`
 * What MCAP recording costs a rollout: the same seeded random-policy episodes run without and with an
 * `EpisodeRecorder` (state hash per step, frames, observations, Foxglove scene), interleaved in rounds; rates are per
 * CPU second of this process (robust to other load on the machine), medians over rounds. `hashUsPerStep` isolates the
 * per-step `env.stateHash()` that verification needs. A first warm-up round is not counted.
 *
 * JSON: { scene, steps, plainStepsPerCpuSec, recordStepsPerCpuSec, ratio, recordUsPerStep, hashUsPerStep, bytesPerStep }
 */
import { rmSync, statSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ACTION, featureSize, makeEnv, runEpisode, type SceneEnv } from '../../sim/core/index.ts';
import { EpisodeRecorder } from '../../sim/data/recorder.ts';
import { Rng } from '../../sim/math/rng.ts';
import { percentile } from '../../sim/math/stats.ts';
import { action, info, loadScenes, parseIntOpt, printJson } from '../util.ts';

interface RecordBenchOpts { scene: string; episodes: number; rounds: number; json?: boolean }

/** Median by sim/math/stats.ts's one rank rule (R-7: the mean of the middle two for an even count). */
const median = (a: number[]): number => percentile(a, 0.5);

function cpuSec(f: () => Promise<number> | number): Promise<{ sec: number; steps: number }> {
  const t0 = process.cpuUsage();
  return Promise.resolve(f()).then((steps) => { const u = process.cpuUsage(t0); return { sec: (u.user + u.system) / 1e6, steps }; });
}

export function register(bench: Command): void {
  bench
    .command('record')
    .description('cost of MCAP recording on a rollout (CPU time, with vs without the recorder)')
    .option('--scene <id>', 'scene id', 'toy/point_reach')
    .option('--episodes <n>', 'episodes per round and mode', parseIntOpt('episodes', 1), 5)
    .option('--rounds <r>', 'interleaved rounds', parseIntOpt('rounds', 1), 5)
    .option('--json', 'print JSON on stdout')
    .action(action(async (opts: RecordBenchOpts) => {
      await loadScenes();
      const env = makeEnv(opts.scene);
      const dir = mkdtempSync(join(tmpdir(), 'stride-bench-record-'));
      const file = join(dir, 'bench.mcap');
      const policy = (seed: number) => (e: SceneEnv) => {
        const rng = new Rng(seed), n = featureSize(e.actionFeatures[ACTION]!);
        return () => Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
      };
      const rates: Record<'plain' | 'record' | 'hash', number[]> = { plain: [], record: [], hash: [] };
      let bytesPerStep = 0, steps = 0;
      try {
        // Round 0 warms up (JIT, WASM tiers) and is not counted.
        for (let round = -1; round < opts.rounds; round++) {
          for (const mode of ['plain', 'record', 'hash'] as const) {
            const r = await cpuSec(async () => {
              const rec = mode === 'record' ? await EpisodeRecorder.create(file, env, { policy: 'random' }) : null;
              let n = 0;
              for (let i = 0; i < opts.episodes; i++) {
                const hooks = rec ? rec.episodeHooks(i) : mode === 'hash' ? { onStep: () => { env.stateHash(); } } : {};
                const ep = runEpisode(env, i, policy(i), hooks);
                rec?.endEpisode(ep);
                n += ep.length;
              }
              await rec?.close();
              return n;
            });
            if (round < 0) continue;
            rates[mode].push(r.steps / r.sec);
            steps = r.steps;
            if (mode === 'record') bytesPerStep = statSync(file).size / r.steps;
          }
          if (round >= 0) info(!!opts.json, `round ${round + 1}/${opts.rounds}: plain ${rates.plain.at(-1)!.toFixed(0)}, record ${rates.record.at(-1)!.toFixed(0)} steps/CPU-s`);
        }
      } finally {
        env.dispose();
        rmSync(dir, { recursive: true, force: true });
      }
      const plain = median(rates.plain), record = median(rates.record), hash = median(rates.hash);
      const out = {
        scene: opts.scene, steps, plainStepsPerCpuSec: Math.round(plain), recordStepsPerCpuSec: Math.round(record),
        ratio: +(record / plain).toFixed(3), recordUsPerStep: +(1e6 / record - 1e6 / plain).toFixed(1),
        hashUsPerStep: +(1e6 / hash - 1e6 / plain).toFixed(1), bytesPerStep: Math.round(bytesPerStep),
      };
      if (opts.json) printJson(out);
      else info(false, `${out.scene}: recording runs at ${(out.ratio * 100).toFixed(0)}% of the unrecorded speed (+${out.recordUsPerStep} µs/step, of which state hash ${out.hashUsPerStep} µs; ${out.bytesPerStep} B/step)`);
    }));
}
