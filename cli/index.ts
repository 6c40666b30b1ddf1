/**
 * The `stride` command. One file per subcommand; each exports `register(program)`.
 * Subcommand modules are imported lazily: `stride rollout …` loads only rollout's module (and not TensorFlow.js, the
 * viewer bundler, the bridge…), which keeps start-up fast; `--help` and unknown commands load them all.
 */
import { readFileSync } from 'node:fs';
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

/** `stride --version`: the package version and the git commit of this checkout ('unknown' outside one). */
async function versionText(): Promise<string> {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  const { gitCommit } = await import('../sim/data/atomic.ts');
  return `stride ${pkg.version} (commit ${gitCommit()})`;
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  // The commit is probed (one `git rev-parse`) only when the version is asked for.
  const wantsVersion = argv.slice(2).some((a) => a === '--version' || a === '-V');
  if (wantsVersion && argv.length === 3) { process.stdout.write(`${await versionText()}\n`); return; }
  program
    .version(wantsVersion ? await versionText() : 'stride', '-V, --version', 'print the version and the git commit')
    .name('stride')
    .description('Train robot and driving policies in simulation, watch them, deploy them.')
    .configureOutput({ outputError: (str, write) => write(`stride: ${str.replace(/^error: /, '').split('\n')[0]}\n`) });
  const name = argv[2];
  const wanted = name && COMMANDS[name] ? [name] : Object.keys(COMMANDS);
  for (const n of wanted) await (await COMMANDS[n]!()).register(program);
  await program.parseAsync(argv);
}
