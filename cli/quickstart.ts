/**
 * `stride quickstart` (= `npm start`): the main job for a new user, end to end in a few minutes.
 *
 *   1. demos     — the scene's scripted expert writes a dataset          (stride demos)
 *   2. train     — behaviour cloning on it, with a progress bar            (stride train)   [reused if already trained]
 *   3. evaluate  — the trained policy for N episodes, success rate with a 95% Wilson interval, recorded to MCAP
 *   4. view      — the viewer opens on the recording (Electron, or a printed web URL; Ctrl-C to stop)
 *
 * Everything lands in --out (default runs/quickstart). `--no-view` stops after step 3 (tests/CI); `--retrain` starts over.
 */
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { formatRate } from '../sim/math/stats.ts';
import { action, CliError, info, loadScenes, parseIntOpt, printJson } from './util.ts';

interface QuickstartOpts {
  scene: string; method: string; demos: number; steps: number; episodes: number; seed: number; out: string;
  retrain?: boolean; view: boolean; web?: boolean; port: number; json?: boolean;
}

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'stride.js');

export function register(program: Command): void {
  program
    .command('quickstart')
    .description('demos → train a default policy → evaluate and record it → open the viewer on the recording')
    .option('--scene <id>', 'scene', 'toy/point_reach')
    .option('--method <name>', 'offline method to train', 'bc')
    .option('--demos <n>', 'expert demonstration episodes', parseIntOpt('demos', 1), 40)
    .option('--steps <n>', 'training steps', parseIntOpt('steps', 1), 600)
    .option('--episodes <n>', 'evaluation episodes (all recorded)', parseIntOpt('episodes', 1), 10)
    .option('--seed <s>', 'seed of the first evaluation episode', parseIntOpt('seed', 0), 1000)
    .option('--out <dir>', 'output folder', 'runs/quickstart')
    .option('--retrain', 'discard an earlier quickstart dataset and run in --out and start over')
    .option('--no-view', 'do not open the viewer at the end')
    .option('--web', 'open the viewer as a web page (default when Electron is unavailable)')
    .option('--port <p>', 'web viewer port (0 = ephemeral)', parseIntOpt('port', 0), 5173)
    .option('--json', 'print a JSON summary on stdout')
    .action(action(async (opts: QuickstartOpts) => {
      const out = resolve(opts.out);
      const say = (l: string) => info(!!opts.json, l);
      const demosDir = join(out, 'demos'), runDir = join(out, opts.method), recording = join(out, `${opts.method}-eval.mcap`);
      if (opts.retrain) { rmSync(demosDir, { recursive: true, force: true }); rmSync(runDir, { recursive: true, force: true }); }
      const t0 = Date.now();

      // --- 1. demonstrations ---
      if (existsSync(join(demosDir, 'meta', 'info.json'))) say(`[1/4] demos: reusing ${demosDir}`);
      else {
        say(`[1/4] demos: ${opts.demos} scripted-expert episodes of ${opts.scene} → ${demosDir}`);
        await stride(['demos', '--scene', opts.scene, '--episodes', String(opts.demos), '--out', demosDir, '--force'], !!opts.json);
      }

      // --- 2. training ---
      const trained = existsSync(join(runDir, 'latest')) || existsSync(join(runDir, 'checkpoints'));
      if (trained) say(`[2/4] train: reusing the checkpoint in ${runDir} (--retrain to start over)`);
      else {
        rmSync(runDir, { recursive: true, force: true }); // an interrupted earlier attempt
        say(`[2/4] train: ${opts.method} for ${opts.steps} steps → ${runDir}  (follow it: stride view --run ${opts.out}/${opts.method})`);
        await stride(['train', '--method', opts.method, '--scene', opts.scene, '--data', demosDir, '--steps', String(opts.steps),
          '--out', runDir, '--checkpoint-every', String(opts.steps), '--eval-episodes', '0', '--batch', '128'], !!opts.json);
      }

      // --- 3. evaluation, recorded ---
      say(`[3/4] evaluate: ${opts.episodes} episodes from seed ${opts.seed}, recorded → ${recording}`);
      await loadScenes();
      const { initBackend } = await import('../policies/common/backend.ts');
      await initBackend();
      const { loadPolicy } = await import('../policies/train/load.ts');
      const { evaluate } = await import('../policies/train/evaluate.ts');
      const policy = loadPolicy(runDir);
      const bar = new cliProgress.SingleBar(
        { stream: process.stderr, format: 'evaluate |{bar}| {value}/{total} episodes | success {sr}%', hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(opts.episodes, 0, { sr: '-' });
      let k = 0;
      let ev;
      try {
        ev = await evaluate(policy, {
          sceneId: opts.scene, episodes: opts.episodes, seed: opts.seed, record: recording,
          recordMeta: { policy: runDir, command: `stride quickstart --scene ${opts.scene}` },
          onEpisode: (ep, i) => { if (ep.success) k++; bar.update(i + 1, { sr: ((100 * k) / (i + 1)).toFixed(0) }); },
        });
      } finally {
        bar.stop();
        policy.dispose();
      }
      const summary = {
        scene: opts.scene, method: opts.method, run: runDir, dataset: demosDir, recording,
        successRate: ev.successRate, ci95: ev.ci95, returnMean: ev.returnMean, lengthMean: ev.lengthMean, episodes: ev.episodes,
        seconds: Math.round((Date.now() - t0) / 100) / 10,
      };
      say(`${opts.scene} × ${opts.method}: success ${formatRate(ev.successRate, ev.ci95)} over ${ev.episodes} episodes, mean return ${ev.returnMean.toFixed(2)}, mean length ${ev.lengthMean.toFixed(1)} steps  [${summary.seconds} s]`);
      if (opts.json) printJson(summary);

      // --- 4. viewer ---
      if (!opts.view) { say(`[4/4] view: skipped (--no-view). Watch it later: stride view ${recording} --run ${runDir}`); return; }
      say('[4/4] view: opening the viewer on the recording');
      const { openViewer } = await import('./view.ts');
      await openViewer({ file: recording, run: runDir, web: !!opts.web, port: opts.port });
    }));
}

/** Run a `stride` subcommand as a child process; its output (progress bars included) goes to our stderr/stdout. */
function stride(args: string[], json: boolean): Promise<void> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', json ? 2 : 'inherit', 'inherit'] });
    child.once('error', (e) => rej(new CliError(`could not run stride ${args[0]}: ${e.message}`)));
    child.once('exit', (code) => (code === 0 ? res() : rej(new CliError(`stride ${args[0]} failed (exit ${code})`))));
  });
}
