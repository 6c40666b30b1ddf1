/**
 * `stride eval --run RUN [--checkpoint STEP] --episodes N --seed S [--set k=v …] [--envs N] [--workers W]
 *   [--record FILE.mcap] [--backend B] [--json]`
 * Episode i is seeded S + i. Rollouts are vectorised over --envs envs (sim/vec) unless recording. JSON: { run, checkpoint, scene, episodes, successRate, ci95: [lo, hi] (Wilson),
 * returnMean, lengthMean, metrics, backend }.
 */
import type { Command } from 'commander';
import path from 'node:path';
import { parseOverrides } from '../sim/core/index.ts';
import { BACKEND_CHOICES, initBackend } from '../policies/common/backend.ts';
import { loadPolicy } from '../policies/train/load.ts';
import { evaluate, evaluateVec } from '../policies/train/evaluate.ts';
import { formatRate } from '../sim/math/stats.ts';
import { action, collect, info, loadScenes, parseIntOpt, printJson, Progress } from './util.ts';
import { loadLatencyProfile, withLatency } from '../sim/bridge/latency.ts';

interface EvalOpts { latencyProfile?: string; run: string; checkpoint?: number; episodes: number; seed: number; set?: string[]; record?: string; backend: string; json?: boolean; scene?: string; envs: number; workers: number }

export function register(program: Command): void {
  program
    .command('eval')
    .description('evaluate a trained run: success rate with a 95% Wilson interval, returns, lengths, metrics')
    .requiredOption('--run <dir>', 'run folder (or a checkpoint folder)')
    .option('--checkpoint <step>', 'checkpoint step (default: latest)', parseIntOpt('checkpoint', 0))
    .option('--episodes <n>', 'episodes', parseIntOpt('episodes', 1), 50)
    .option('--seed <s>', 'seed of episode 0 (episode i uses seed + i)', parseIntOpt('seed', 0), 0)
    .option('--scene <id>', 'scene to evaluate in (default: the scene the run was trained on)')
    .option('--set <key=value>', 'scene config override (repeatable), e.g. a distribution shift', collect)
    .option('--record <file.mcap>', 'record every episode to an MCAP file')
    .option('--envs <n>', 'envs stepped together, one batched policy call per step (sim/vec); --record runs sequentially', parseIntOpt('envs', 1), 8)
    .option('--workers <n>', 'env worker threads (WorkerVecEnv) when > 1', parseIntOpt('workers', 1), 1)
    .option('--backend <name>', `TensorFlow.js backend: ${BACKEND_CHOICES.join(' | ')}`, 'auto')
    .option('--latency-profile <file>', 'replay robot latency measured by `stride bridge run` (delays drawn per step, seeded; stale commands dropped)')
    .option('--json', 'print JSON on stdout')
    .action(action(async (opts: EvalOpts) => {
      await loadScenes();
      const latency = opts.latencyProfile ? loadLatencyProfile(opts.latencyProfile) : null;
      const backend = await initBackend(opts.backend);
      const policy = loadPolicy(opts.run, { step: opts.checkpoint });
      const sceneId = opts.scene ?? policy.manifest.sceneId;
      try {
        const overrides = parseOverrides(opts.set) as Record<string, unknown>;
        const bar = new Progress('eval', opts.episodes, 'episodes', (l) => info(!!opts.json, l));
        let finished = 0, successes = 0;
        const onEpisode = (ep: { seed: number; return: number; length: number; success: boolean; reason: string }, i: number) => {
          finished++; if (ep.success) successes++;
          bar.tick(finished, `episode ${i} seed ${ep.seed}: return ${ep.return.toFixed(3)} length ${ep.length} success ${ep.success} (${ep.reason})`, { success: `${((successes / finished) * 100).toFixed(1)}%` });
        };
        policy.seedNoise(opts.seed);
        // Vectorised (sim/vec, one batched policy call per step) unless recording or replaying latency, which wrap a SceneEnv.
        const vectorised = !opts.record && !latency && opts.envs > 1 && !!policy.actBatch;
        let r: Awaited<ReturnType<typeof evaluate>>;
        try {
          r = vectorised
          ? await evaluateVec(policy, { sceneId, overrides, episodes: opts.episodes, seed: opts.seed, numEnvs: opts.envs, workers: opts.workers, onEpisode })
          : await evaluate(policy, {
            sceneId, overrides, episodes: opts.episodes, seed: opts.seed, record: opts.record,
            wrapEnv: latency ? (env) => withLatency(env, latency, { seed: opts.seed }) : undefined,
            recordMeta: { policy: path.resolve(opts.run), command: `stride ${process.argv.slice(2).join(' ')}` }, onEpisode,
          });
        } finally {
          bar.stop();
        }
        const out = {
          run: path.resolve(opts.run), checkpoint: policy.manifest.step, method: policy.manifest.method, scene: sceneId, overrides,
          vectorised, episodes: r.episodes, successRate: r.successRate, ci95: r.ci95, returnMean: r.returnMean, lengthMean: r.lengthMean, metrics: r.metrics, backend,
          ...(opts.latencyProfile ? { latencyProfile: path.resolve(opts.latencyProfile) } : {}),
        };
        if (opts.json) printJson(out);
        else info(false, `${sceneId} × ${policy.manifest.method}@${policy.manifest.step}: success ${formatRate(r.successRate, r.ci95)} over ${r.episodes} episodes, return ${r.returnMean.toFixed(3)}, length ${r.lengthMean.toFixed(1)}`);
      } finally {
        policy.dispose();
      }
    }));
}
