/**
 * The `stride` command. One file per subcommand; each exports `register(program)`.
 */
import { Command } from 'commander';
import { register as registerScenes } from './scenes.ts';
import { register as registerRollout } from './rollout.ts';
import { register as registerBench } from './bench.ts';
import { register as registerDemos } from './demos.ts';
import { register as registerReplay } from './replay.ts';
import { register as registerView } from './view.ts';
import { register as registerQuickstart } from './quickstart.ts';
import { register as registerBridge } from './bridge.ts';
import { register as registerTrain } from './train.ts';
import { register as registerEval } from './eval.ts';
import { register as registerExperiment } from './experiment.ts';
import { register as registerMotions } from './motions.ts';

export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program
    .name('stride')
    .description('Train robot and driving policies in simulation, watch them, deploy them.')
    .configureOutput({ outputError: (str, write) => write(`stride: ${str.replace(/^error: /, '').split('\n')[0]}\n`) });
  registerScenes(program);
  registerRollout(program);
  registerBench(program);
  registerDemos(program);
  registerReplay(program);
  registerView(program);
  registerQuickstart(program);
  registerBridge(program);
  registerTrain(program);
  registerEval(program);
  registerExperiment(program);
  registerMotions(program);
  // Later subcommands register here, one line each.
  await program.parseAsync(argv);
}
