/**
 * `stride bench <what> [--json]`: benchmarks print figures measured side by side in one run (ratios where the machine
 * is noisy). Each benchmark lives in cli/bench/<what>.ts and registers itself here.
 */
import type { Command } from 'commander';
import { register as registerSim } from './bench/sim.ts';
import { register as registerTrain } from './bench/train.ts';
import { register as registerInfer } from './bench/infer.ts';
import { register as registerView } from './bench/view.ts';
import { register as registerBridge } from './bench/bridge.ts';
import { register as registerRfs } from './bench/rfs.ts';
import { register as registerRecord } from './bench/record.ts';

export function register(program: Command): void {
  const bench = program.command('bench').description('run a benchmark and print its figures');
  registerSim(bench);
  registerTrain(bench);
  registerInfer(bench);
  registerView(bench);
  registerBridge(bench);
  registerRfs(bench);
  registerRecord(bench);
}
