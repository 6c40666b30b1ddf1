/**
 * `stride demos --scene ID --episodes N --seed S --out DIR [--force] [--set k=v] [--json]`
 * Runs the scene's scripted expert for N episodes (episode i seeded S + i) and writes a dataset (sim/data/dataset.ts):
 * every observation feature plus the action, frame t = (observation before action t, action t); per-episode seed,
 * success and the expert's labels in meta/episodes.jsonl. The dataset appears at DIR only when complete; an existing
 * DIR is replaced only with --force.
 */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { ACTION, allocFeature, featureSize, makeEnv, parseOverrides, runEpisode, type FeatureArray, type Features } from '../sim/core/index.ts';
import { DatasetWriter } from '../sim/data/dataset.ts';
import { action, CliError, collect, info, loadScenes, parseIntOpt, printJson } from './util.ts';

interface DemosOpts { scene: string; episodes: number; seed: number; out: string; force?: boolean; set?: string[]; json?: boolean }

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
    .option('--json', 'print a JSON summary on stdout')
    .action(action(async (opts: DemosOpts) => {
      await loadScenes();
      const overrides = parseOverrides(opts.set);
      const env = makeEnv(opts.scene, overrides);
      if (!env.hasExpert) throw new CliError(`scene ${opts.scene} has no scripted expert`);
      const features: Features = { ...env.observationFeatures, ...env.actionFeatures };
      const keys = Object.keys(features);
      const writer = new DatasetWriter(opts.out, { sceneId: opts.scene, fps: 1 / env.ctrlDtSec, features, force: !!opts.force });
      const onSignal = () => { writer.abort(); process.exit(130); };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const bar = new cliProgress.SingleBar(
        { stream: process.stderr, format: 'demos |{bar}| {value}/{total} episodes | success {sr}% | {frames} frames', hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(opts.episodes, 0, { sr: '0.0', frames: 0 });
      let successes = 0;
      try {
        for (let i = 0; i < opts.episodes; i++) {
          const seed = opts.seed + i;
          const frames: Record<string, FeatureArray[]> = Object.fromEntries(keys.map((k) => [k, []]));
          let labels: Record<string, number | string> = {};
          let expert: ReturnType<typeof env.expert> | null = null;
          const ep = runEpisode(env, seed, (e) => {
            expert = e.expert();
            const ex = expert;
            return (obs) => {
              for (const k of Object.keys(env.observationFeatures)) frames[k]!.push(copy(obs[k]!));
              const a = ex.act();
              frames[ACTION]!.push(clampAction(a, env.actionFeatures));
              return a;
            };
          });
          labels = (expert as ReturnType<typeof env.expert> | null)?.labels() ?? {};
          writer.addEpisode({ seed, success: ep.success, labels }, frames);
          if (ep.success) successes++;
          bar.update(i + 1, { sr: ((successes / (i + 1)) * 100).toFixed(1), frames: writer.frameCount });
        }
        bar.stop();
        const dsInfo = writer.finish();
        const summary = {
          out: opts.out, scene: opts.scene, seed: opts.seed, episodes: dsInfo.numEpisodes, frames: dsInfo.numFrames,
          successRate: successes / dsInfo.numEpisodes, features: Object.fromEntries(keys.map((k) => [k, features[k]!.shape])),
        };
        if (opts.json) printJson(summary);
        else info(false, `wrote ${summary.episodes} expert episodes of ${opts.scene} (${summary.frames} frames, success ${(summary.successRate * 100).toFixed(1)}%) to ${opts.out}`);
      } catch (e) {
        bar.stop();
        writer.abort();
        throw e;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        env.dispose();
      }
    }));
}

function copy(a: FeatureArray): FeatureArray {
  return a.slice();
}

/** The action as the env applied it (clamped to the action box), so the dataset never holds out-of-range actions. */
function clampAction(a: Float32Array, actionFeatures: Features): Float32Array {
  const spec = actionFeatures[ACTION]!;
  const out = allocFeature(spec) as Float32Array;
  if (a.length !== featureSize(spec)) throw new Error(`expert action has ${a.length} elements, expected ${featureSize(spec)}`);
  const lo = spec.low ?? -Infinity, hi = spec.high ?? Infinity;
  for (let i = 0; i < a.length; i++) out[i] = Math.min(hi, Math.max(lo, a[i]!));
  return out;
}
