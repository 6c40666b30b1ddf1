/**
 * `stride demos --scene ID --episodes N --seed S --out DIR [--force] [--set k=v] [--final-frame] [--successes-only] [--json]`
 * Runs the scene's scripted expert for N episodes (episode i seeded S + i) and writes a dataset (sim/data/dataset.ts):
 * every observation feature plus the action, frame t = (observation before action t, action t); per-episode seed,
 * success and the expert's labels in meta/episodes.jsonl. The dataset appears at DIR only when complete; an existing
 * DIR is replaced only with --force. The recording is sim/data/demos.ts's recordExpertEpisodes (actions clamped as the
 * env applies them).
 */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { makeEnv, parseOverrides } from '../sim/core/index.ts';
import { recordExpertEpisodes } from '../sim/data/demos.ts';
import { formatRate, rate } from '../sim/math/stats.ts';
import { action, CliError, collect, info, loadScenes, parseIntOpt, printJson } from './util.ts';

interface DemosOpts { scene: string; episodes: number; seed: number; out: string; force?: boolean; set?: string[]; json?: boolean; finalFrame?: boolean; successesOnly?: boolean }

export function register(program: Command): void {
  program
    .command('demos')
    .description("record the scene's scripted expert into a dataset (numpy-readable .npy columns + JSON meta)")
    .requiredOption('--scene <id>', 'scene id (see `stride scenes`)')
    .option('--episodes <n>', 'number of episodes', parseIntOpt('episodes', 1), 10)
    .option('--seed <s>', 'seed of episode 0 (episode i uses seed + i)', parseIntOpt('seed', 0), 0)
    .requiredOption('--out <dir>', 'dataset folder to create')
    .option('--force', 'replace an existing dataset at --out (only once the new one is complete)')
    .option('--set <key=value>', 'scene config override (repeatable)', collect)
    .option('--final-frame', "also record each episode's final observation (with the expert's action there): demos end at the goal")
    .option('--successes-only', 'write only the successful episodes')
    .option('--json', 'print a JSON summary on stdout')
    .action(action(async (opts: DemosOpts) => {
      await loadScenes();
      const overrides = parseOverrides(opts.set);
      const env = makeEnv(opts.scene, overrides);
      // The writer's temp folder is removed by its exit hook: a signal only has to exit.
      const onSignal = () => process.exit(130);
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const bar = new cliProgress.SingleBar(
        { stream: process.stderr, format: 'demos |{bar}| {value}/{total} episodes | success {sr}% | {frames} frames', hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      try {
        if (!env.hasExpert) throw new CliError(`scene ${opts.scene} has no scripted expert`);
        const rec = recordExpertEpisodes(env, {
          out: opts.out, episodes: opts.episodes, seed0: opts.seed, force: !!opts.force, finalFrame: !!opts.finalFrame,
          ...(opts.successesOnly ? { keep: (ep: { success: boolean }) => ep.success } : {}),
          onStart: () => bar.start(opts.episodes, 0, { sr: '0.0', frames: 0 }),
          onEpisode: (_ep, i, p) => bar.update(i + 1, { sr: ((p.successes / (i + 1)) * 100).toFixed(1), frames: p.frames }),
        });
        bar.stop();
        const keys = Object.keys(rec.features);
        const summary = {
          out: opts.out, scene: opts.scene, seed: opts.seed, episodes: rec.info.numEpisodes, frames: rec.info.numFrames,
          successRate: rec.successes / rec.info.numEpisodes, features: Object.fromEntries(keys.map((k) => [k, rec.features[k]!.shape])),
        };
        if (opts.json) printJson(summary);
        else info(false, `wrote ${summary.episodes} expert episodes of ${opts.scene} to ${opts.out}: ${summary.frames} frames, success ${formatRate(summary.successRate, rate(rec.successes, rec.info.numEpisodes).ci95)}`);
      } catch (e) {
        bar.stop();
        throw e;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        env.dispose();
      }
    }));
}
