/**
 * `stride motions --out DIR [--clips N] [--seed S] [--set seen|unseen-goals|unseen-inits|recovery] [--kind any|lift|push] [--force] [--json]`
 * Writes the humanoid/hoi reference motion library (seeded kinematic clips with goal annotations) as a dataset; see
 * scenes/humanoid/motion_library.ts for the columns. Clip i is drawn with seed S + i.
 */
import type { Command } from 'commander';
import { writeMotionLibrary } from '../scenes/humanoid/motion_library.ts';
import { EVAL_SETS, type EvalSet } from '../scenes/humanoid/motion.ts';
import { action, CliError, info, parseIntOpt, printJson } from './util.ts';

interface MotionsOpts { out: string; clips: number; seed: number; set: string; kind: string; force?: boolean; json?: boolean }

export function register(program: Command): void {
  program
    .command('motions')
    .description('write the humanoid/hoi reference motion library (seeded kinematic clips + goal annotations) as a dataset')
    .requiredOption('--out <dir>', 'dataset folder to create')
    .option('--clips <n>', 'number of clips', parseIntOpt('clips', 1), 200)
    .option('--seed <s>', 'seed of clip 0 (clip i uses seed + i)', parseIntOpt('seed', 0), 0)
    .option('--set <name>', `held-out set the clips are drawn from (${EVAL_SETS.join(', ')})`, 'seen')
    .option('--kind <kind>', 'clip kind: any, lift or push', 'any')
    .option('--force', 'replace an existing dataset at --out (only once the new one is complete)')
    .option('--json', 'print a JSON summary on stdout')
    .action(action(async (opts: MotionsOpts) => {
      if (!EVAL_SETS.includes(opts.set as EvalSet)) throw new CliError(`unknown --set '${opts.set}' (known: ${EVAL_SETS.join(', ')})`);
      if (!['any', 'lift', 'push'].includes(opts.kind)) throw new CliError(`unknown --kind '${opts.kind}' (known: any, lift, push)`);
      const t0 = performance.now();
      const r = writeMotionLibrary(opts.out, { numClips: opts.clips, seed: opts.seed, evalSet: opts.set as EvalSet, clipKind: opts.kind as 'any', force: !!opts.force });
      const summary = { out: opts.out, clips: r.numEpisodes, frames: r.numFrames, fps: r.fps, lift: r.lift, push: r.push, seconds: Math.round((performance.now() - t0) / 100) / 10 };
      info(!!opts.json, `motions: ${summary.clips} clips (${r.lift} lift, ${r.push} push), ${summary.frames} frames → ${opts.out}`);
      if (opts.json) printJson(summary);
    }));
}
