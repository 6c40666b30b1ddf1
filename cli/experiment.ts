/**
 * `stride experiment <name> [--quick] [--json] [--budget k=v …] [--out DIR] [--cache DIR] [--backend B]`
 * Runs a method's reproduction study end to end (data, every arm, every seed, evaluation) and writes
 * `<out>/<name>.json` + `<out>/<name>.md`. Finished cells are cached under `--cache`, so an interrupted run resumes.
 *
 * Each method adds ONE line to `EXPERIMENTS` below: its `experiments/<method>/study.ts` exports `experiment`.
 */
import type { Command } from 'commander';
import type { QueueCounts, QueueTarget } from '../experiments/harness/queue.ts';
import { queueProgress, queueTarget, reachQueue } from './queue.ts';
import { action, CliError, collect, info, printJson, Progress } from './util.ts';

/** What a study module exports as `experiment`. */
export interface ExperimentDef {
  description: string;
  /** Scenes the study supports with `--scene` (absent = only its default). */
  scenes?: string[];
  run(opts: ExperimentRunOptions): Promise<Record<string, unknown>>;
}

export interface ExperimentRunOptions {
  quick: boolean;
  /** Budget overrides `key=value` (meaning is up to the study; it validates them). */
  budget: string[];
  outDir: string;
  cacheDir: string;
  backend: string;
  /** The exact command line, recorded in the results. */
  command: string;
  /** Progress lines (stderr when --json). */
  log: (line: string) => void;
  /** After each cell that had to run finishes (the CLI's progress bar). */
  onCell?: (finished: number, total: number) => void;
  /** `--scene`: run the study on another scene it supports (undefined = the study's default). */
  scene?: string;
  /** `--queue`: run the cells as jobs on this Redis queue (`stride worker`s) instead of local worker threads. */
  queue?: { target: QueueTarget; onProgress?: (c: QueueCounts) => void };
  /** `--pilot`: stop after the floor-guard stage (studies with a guard stage; the cells are cached for the full run). */
  pilot?: boolean;
}

const EXPERIMENTS: Record<string, () => Promise<{ experiment: ExperimentDef }>> = {
  beso: () => import('../experiments/beso/study.ts'),
  'beso-toy': () => import('../experiments/beso-toy/study.ts'),
  fdp: () => import('../experiments/fdp/study.ts'),
};

interface Opts { quick?: boolean; pilot?: boolean; json?: boolean; budget?: string[]; out: string; cache: string; backend: string; scene?: string; queue?: string; insecure?: boolean }

export function register(program: Command): void {
  program
    .command('experiment')
    .description(`run a method's reproduction study and write results/<name>.{json,md} (${Object.keys(EXPERIMENTS).join(', ')})`)
    .argument('<name>', `study name (${Object.keys(EXPERIMENTS).join(', ')})`)
    .option('--quick', 'the same pipeline with tiny budgets (a few minutes)')
    .option('--pilot', 'stop after the floor-guard stage (its cells are cached for the full run)')
    .option('--json', 'print the results JSON on stdout')
    .option('--budget <key=value>', 'override one budget entry (repeatable), e.g. --budget trainSteps=50', collect)
    .option('--out <dir>', 'folder for <name>.json and <name>.md', 'results')
    .option('--cache <dir>', 'cache of data and finished cells (resumable)', 'runs/experiments')
    .option('--scene <id>', 'run the study on another scene it supports (e.g. beso: manip/block_push)')
    .option('--backend <name>', 'TensorFlow.js backend (auto, node, wasm, cpu)', process.env.STRIDE_BACKEND ?? 'auto')
    .option('--queue <url>', 'run the cells on `stride worker`s through this Redis queue, redis://[:PASSWORD@]HOST[:PORT][/DB]')
    .option('--insecure', 'with --queue: allow a non-loopback Redis without a password')
    .action(action(async (name: string, opts: Opts) => {
      const load = EXPERIMENTS[name];
      if (!load) throw new CliError(`unknown experiment '${name}' (known: ${Object.keys(EXPERIMENTS).join(', ')})`);
      const { experiment } = await load();
      if (opts.scene !== undefined && !(experiment.scenes ?? []).includes(opts.scene)) {
        throw new CliError(`experiment ${name}: unsupported --scene '${opts.scene}' (supported: ${(experiment.scenes ?? []).join(', ') || 'only its default'})`);
      }
      const json = !!opts.json;
      const command = ['stride', ...process.argv.slice(2)].join(' ').replace(/(rediss?:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
      const target = opts.queue !== undefined ? await queueTarget(opts.queue, !!opts.insecure) : undefined;
      if (target) await reachQueue(target); // before any work: a bad queue fails in seconds, with nothing written
      const progress = target ? queueProgress(json) : undefined;
      // Local cells: a progress bar over the cells that have to run (the queue has its own progress display).
      let bar: Progress | null = null;
      const t0 = Date.now();
      const onCell = (done: number, total: number) => { bar ??= new Progress(`experiment ${name}`, total, 'cells', (l) => info(json, l), t0); bar.tick(done, `cell ${done}/${total} done`); };
      let result;
      try {
        result = await experiment.run({
          quick: !!opts.quick, budget: opts.budget ?? [], outDir: opts.out, cacheDir: opts.cache, backend: opts.backend, command,
          log: (line) => info(json, line), scene: opts.scene, pilot: !!opts.pilot, ...(target ? { queue: { target, onProgress: progress!.onProgress } } : { onCell }),
        });
      } finally {
        progress?.stop();
        (bar as Progress | null)?.stop();
      }
      if (json) printJson(result);
      else info(false, `finished ${name}: results in ${opts.out}/`);
    }));
}
