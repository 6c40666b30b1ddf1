/**
 * `stride bench <what> [--json]`: benchmarks print figures measured side by side in one run (ratios where the machine
 * is noisy). Each benchmark lives in cli/bench/<what>.ts; like the top-level commands, only the requested one is loaded.
 */
import type { Command } from 'commander';

type Registrar = () => Promise<{ register(bench: Command): void }>;

/** Benchmark name → its module. A new benchmark adds one line here. */
const BENCHES: Record<string, Registrar> = {
  sim: () => import('./bench/sim.ts'),
  train: () => import('./bench/train.ts'),
  infer: () => import('./bench/infer.ts'),
  view: () => import('./bench/view.ts'),
  bridge: () => import('./bench/bridge.ts'),
  rfs: () => import('./bench/rfs.ts'),
  record: () => import('./bench/record.ts'),
};

export async function register(program: Command): Promise<void> {
  const bench = program.command('bench').description('run a benchmark and print its figures');
  const name = process.argv[2] === 'bench' ? process.argv[3] : undefined;
  const wanted = name && BENCHES[name] ? [name] : Object.keys(BENCHES);
  for (const n of wanted) (await BENCHES[n]!()).register(bench);
}
