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

/**
 * The `stride` program with the commands named (all when `names` is empty). `configure` runs before any subcommand
 * is added, so settings it makes (exitOverride, output capture — what tests use) are inherited by every subcommand.
 * `version`: the text `--version` prints (probed by `main` only when asked for).
 */
export async function buildProgram(names: readonly string[] = [], configure?: (p: Command) => void, version = 'stride'): Promise<Command> {
  const program = new Command();
  program
    .version(version, '-V, --version', 'print the version and the git commit')
    .name('stride')
    .description('Train robot and driving policies in simulation, watch them, deploy them.')
    .configureOutput({ outputError: (str, write) => write(`stride: ${str.replace(/^error: /, '').split('\n')[0]}\n`) });
  configure?.(program);
  for (const n of names.length ? names : Object.keys(COMMANDS)) await (await COMMANDS[n]!()).register(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // The commit is probed (one `git rev-parse`) only when the version is asked for.
  const wantsVersion = argv.slice(2).some((a) => a === '--version' || a === '-V');
  if (wantsVersion && argv.length === 3) { process.stdout.write(`${await versionText()}\n`); return; }
  const name = argv[2];
  const program = await buildProgram(name && COMMANDS[name] ? [name] : [], undefined, wantsVersion ? await versionText() : 'stride');
  await program.parseAsync(argv);
}
