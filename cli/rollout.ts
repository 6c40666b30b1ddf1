/**
 * `stride rollout --scene ID --policy random|zero|expert --episodes N --seed S [--record FILE.mcap] [--json]`
 * Episode i is seeded S + i. JSON: { scene, seed, policy, episodes: [{ seed, return, length, success, metrics, finalStateHash }] }.
 */
import type { Command } from 'commander';
import { makeEnv, runEpisode, parseOverrides, type EpisodeSummary } from '../sim/core/index.ts';
import { formatRate, rate } from '../sim/math/stats.ts';
import { action, collect, info, loadScenes, parseIntOpt, printJson, Progress } from './util.ts';
import { policyByName } from './policies.ts';

interface RolloutOpts { scene: string; policy: string; episodes: number; seed: number; record?: string; json?: boolean; set?: string[] }

export function register(program: Command): void {
  program
    .command('rollout')
    .description('run episodes of a scene with a policy and print returns, success and final state hashes')
    .requiredOption('--scene <id>', 'scene id (see `stride scenes`)')
    .option('--policy <name>', 'random | zero | expert | a trained run or checkpoint directory', 'expert')
    .option('--episodes <n>', 'number of episodes', parseIntOpt('episodes', 1), 1)
    .option('--seed <s>', 'seed of episode 0 (episode i uses seed + i)', parseIntOpt('seed', 0), 0)
    .option('--record <file.mcap>', 'record the episodes to an MCAP file')
    .option('--set <key=value>', 'scene config override (repeatable), e.g. --set shift.distractors=3', collect)
    .option('--json', 'print JSON on stdout')
    .action(action(async (opts: RolloutOpts) => {
      await loadScenes();
      const env = makeEnv(opts.scene, parseOverrides(opts.set));
      const policy = await policyByName(opts.policy);
      const episodes: EpisodeSummary[] = [];
      const recorder = opts.record ? await openRecorder(opts.record, env, opts) : null;
      const bar = new Progress('rollout', opts.episodes, 'episodes', (l) => info(false, l));
      try {
        for (let i = 0; i < opts.episodes; i++) {
          const seed = opts.seed + i;
          const hooks = recorder?.episodeHooks(seed) ?? {};
          const ep = runEpisode(env, seed, policy, hooks);
          recorder?.endEpisode(ep);
          episodes.push(ep);
          const line = `episode ${i} seed ${seed}: return ${ep.return.toFixed(3)} length ${ep.length} success ${ep.success} (${ep.reason})`;
          bar.tick(i + 1, opts.json ? undefined : line, { success: `${((episodes.filter((e) => e.success).length / (i + 1)) * 100).toFixed(1)}%` });
        }
        bar.stop();
        await recorder?.close();
      } catch (e) {
        await recorder?.abort();
        throw e;
      } finally {
        bar.stop();
        env.dispose();
      }
      const out = {
        scene: opts.scene, seed: opts.seed, policy: opts.policy,
        episodes: episodes.map((e) => ({ seed: e.seed, return: e.return, length: e.length, success: e.success, reason: e.reason, metrics: e.metrics, finalStateHash: e.finalStateHash })),
      };
      if (opts.json) printJson(out);
      else {
        const r = rate(episodes.filter((e) => e.success).length, episodes.length);
        info(false, `${opts.scene} × ${opts.policy}: success ${formatRate(r.rate, r.ci95)} over ${episodes.length} episodes${opts.record ? `, recorded to ${opts.record}` : ''}`);
      }
    }));
}

/** Recording hooks; implemented with sim/data's MCAP recorder. */
async function openRecorder(file: string, env: ReturnType<typeof makeEnv>, opts: RolloutOpts) {
  const { EpisodeRecorder } = await import('../sim/data/recorder.ts');
  return EpisodeRecorder.create(file, env, { policy: opts.policy, overrides: parseOverrides(opts.set), command: process.argv.slice(2).join(' ') });
}
