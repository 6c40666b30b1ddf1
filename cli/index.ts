/**
 * The `stride` command. One file per subcommand; each exports `register(program)`.
 * Subcommand modules are imported lazily: `stride rollout …` loads only rollout's module (and not TensorFlow.js, the
 * viewer bundler, the bridge…), which keeps start-up fast; `--help` and unknown commands load them all.
 */
import { Command } from 'commander';

type Registrar = () => Promise<{ register(program: Command): void | Promise<void> }>;

/** Subcommand name → its module. A new subcommand adds one line here. */
const COMMANDS: Record<string, Registrar> = {
  quickstart: () => import('./quickstart.ts'),
  scenes: () => import('./scenes.ts'),
  rollout: () => import('./rollout.ts'),
  demos: () => import('./demos.ts'),
  'export-dataset': () => import('./export_dataset.ts'),
  replay: () => import('./replay.ts'),
  motions: () => import('./motions.ts'),
  train: () => import('./train.ts'),
  eval: () => import('./eval.ts'),
  experiment: () => import('./experiment.ts'),
  view: () => import('./view.ts'),
  bridge: () => import('./bridge.ts'),
  robot: () => import('./robot.ts'),
  bench: () => import('./bench.ts'),
  worker: () => import('./worker.ts'),
  queue: () => import('./queue.ts'),
};

export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program
    .name('stride')
    .description('Train robot and driving policies in simulation, watch them, deploy them.')
    .configureOutput({ outputError: (str, write) => write(`stride: ${str.replace(/^error: /, '').split('\n')[0]}\n`) });
  const name = argv[2];
  const wanted = name && COMMANDS[name] ? [name] : Object.keys(COMMANDS);
  for (const n of wanted) await (await COMMANDS[n]!()).register(program);
  await program.parseAsync(argv);
}
