/**
 * `stride train --method NAME (bc, diffusion, ppo, beso… — the registry's methods) --scene ID [--data DIR] --steps N --out RUN [--seed S] [--resume | --init RUN[:STEP]]
 *   [--backend B] [--workers W] [--batch N] [--lr X] [--checkpoint-every N] [--eval-episodes N]
 *   [--config key=value …] [--config stage=NAME] [--set key=value …] [--json]
 *   [--grid key=v1,v2 … [--parallel N | --queue redis://HOST:6379 [--insecure]]]`
 * Writes RUN/config.json, RUN/metrics.jsonl and atomic checkpoints with a `latest` pointer. `--resume` continues the
 * run in RUN from its latest checkpoint, bit-identically (its config.json wins; --steps may extend it). `--init` starts
 * a fresh run from another run's inference weights. This file only parses: defaults (lr, batch, checkpoint cadence)
 * and the training loop come from the method's stage in policies/registry.ts.
 * `--grid` makes it a sweep: one run per combination of the grid's values, locally or on the queue (see `sweep`).
 */
import type { Command } from 'commander';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { applyOverrides, parseOverrides } from '../sim/core/index.ts';
import { BACKEND_CHOICES, initBackend } from '../policies/common/backend.ts';
import { defaultAdam } from '../policies/common/params.ts';
import { checkMethodConfig, getMethod, listMethods } from '../policies/registry.ts';
import { resolveInit } from '../policies/train/checkpoint.ts';
import { readRunConfig, writeRunConfig, type TrainConfig } from '../policies/train/run.ts';
import { writeJsonAtomic } from '../sim/data/atomic.ts';
import type { TrainJob, TrainJobResult } from '../experiments/harness/train_job.ts';
import { queueProgress, queueTarget, reachQueue } from './queue.ts';
import { action, collect, CliError, info, loadScenes, parseIntOpt, printJson } from './util.ts';

interface TrainOpts {
  method: string; scene: string; data?: string; steps: number; out: string; seed: number; resume?: boolean; init?: string; backend: string;
  workers: number; batch?: number; lr?: string; checkpointEvery?: number; evalEpisodes: number; config?: string[]; set?: string[]; json?: boolean;
  grid?: string[]; parallel: number; queue?: string; insecure?: boolean;
}

/** The TrainConfig of a fresh run from the command line (defaults from the method's stage). */
function freshConfig(opts: TrainOpts, command: string): TrainConfig {
  const def = getMethod(opts.method);
  // --- the stage (`--config stage=NAME`) is the method's choice of training loop, not a policy setting ---
  const overrides = parseOverrides(opts.config);
  const stageName = overrides.stage === undefined ? def.defaultStage : String(overrides.stage);
  delete overrides.stage;
  if (!(stageName in def.stages)) throw new CliError(`--config stage=${stageName}: method ${opts.method} has stages ${Object.keys(def.stages).join(', ')}`, 2);
  const stage = def.stage(stageName);
  if (stage.source === 'dataset' && !opts.data) throw new CliError(`method ${opts.method} (stage ${stageName}) trains from a dataset: pass --data DIR`);
  let methodConfig: Record<string, unknown>;
  try {
    methodConfig = applyOverrides(def.defaultConfig() as Record<string, unknown>, overrides);
  } catch (e) {
    throw new CliError(`--config: ${(e as Error).message} (method ${opts.method} keys: stage, ${Object.keys(def.defaultConfig()).join(', ')})`, 2);
  }
  try {
    checkMethodConfig(opts.method, methodConfig);
  } catch (e) {
    throw new CliError(`--config: ${(e as Error).message}`, 2);
  }
  const lr = opts.lr !== undefined ? Number(opts.lr) : undefined;
  if (lr !== undefined && !(lr > 0)) throw new CliError(`--lr must be a positive number, got '${opts.lr}'`, 2);
  const d = stage.trainDefaults();
  return {
    method: opts.method, sceneId: opts.scene, data: opts.data ? path.resolve(opts.data) : null, steps: opts.steps, seed: opts.seed,
    batchSize: opts.batch ?? d.batchSize, optim: { ...defaultAdam(), ...d.optim, ...(lr ? { lr } : {}) },
    checkpointEvery: opts.checkpointEvery ?? Math.max(1, Math.min(opts.steps, d.checkpointEvery || opts.steps)),
    evalEpisodes: opts.evalEpisodes, logEvery: d.logEvery, workers: opts.workers, backend: opts.backend, backendRunning: '',
    methodConfig, overrides: parseOverrides(opts.set) as Record<string, unknown>, command, stage: stageName,
    init: opts.init ? resolveInit(opts.init) : null,
  };
}

/** Keys `--grid` varies besides method config keys (`set.PATH` varies a scene override). */
const GRID_TRAIN_KEYS = ['seed', 'lr', 'batch', 'steps'] as const;

/** `--grid k=v1,v2 …` → every combination (in the order given), as `[key, value][]`. */
export function parseGrid(grid: string[]): [string, string][][] {
  let combos: [string, string][][] = [[]];
  const seen = new Set<string>();
  for (const g of grid) {
    const m = /^([A-Za-z_][\w.-]*)=(.+)$/.exec(g);
    if (!m) throw new CliError(`--grid '${g}': expected key=v1,v2,…`, 2);
    const [, key, list] = m as unknown as [string, string, string];
    if (seen.has(key)) throw new CliError(`--grid ${key} is given twice`, 2);
    seen.add(key);
    const values = list.split(',');
    if (values.some((v) => v === '')) throw new CliError(`--grid '${g}': empty value`, 2);
    if (new Set(values).size !== values.length) throw new CliError(`--grid '${g}': a value is repeated`, 2);
    combos = combos.flatMap((c) => values.map((v) => [...c, [key, v] as [string, string]]));
  }
  return combos;
}

/** The command-line options of one grid combination. */
function comboOpts(opts: TrainOpts, combo: [string, string][]): TrainOpts {
  const o: TrainOpts = { ...opts, config: [...(opts.config ?? [])], set: [...(opts.set ?? [])] };
  for (const [k, v] of combo) {
    if ((GRID_TRAIN_KEYS as readonly string[]).includes(k)) {
      if (k === 'lr') { o.lr = v; continue; }
      const n = Number(v);
      if (!Number.isInteger(n) || n < (k === 'seed' ? 0 : 1)) throw new CliError(`--grid ${k}=${v}: not an integer ≥ ${k === 'seed' ? 0 : 1}`, 2);
      if (k === 'seed') o.seed = n; else if (k === 'batch') o.batch = n; else o.steps = n;
    } else if (k.startsWith('set.')) o.set!.push(`${k.slice(4)}=${v}`);
    else o.config!.push(`${k}=${v}`);
  }
  return o;
}

/**
 * A sweep: one run per `--grid` combination, in `<out>/<k1>=<v1>,<k2>=<v2>…` — locally on `--parallel` worker
 * threads, or as jobs on `--queue` (runs then train on the workers, in `<artifacts>/<sweep>/<run>`). A run folder
 * that already holds the same run resumes from its latest checkpoint. Writes `<out>/sweep.json` (submitter side).
 */
async function sweep(opts: TrainOpts, command: string): Promise<void> {
  if (opts.resume || opts.init) throw new CliError('--grid runs a sweep of fresh runs (each resumes by itself): drop --resume/--init', 2);
  const out = path.resolve(opts.out);
  const combos = parseGrid(opts.grid!);
  const runs = combos.map((combo) => {
    const id = combo.map(([k, v]) => `${k}=${v}`).join(',').replace(/[^A-Za-z0-9._=,+-]/g, '_');
    return { id, grid: Object.fromEntries(combo), cfg: freshConfig(comboOpts(opts, combo), command) };
  });
  if (!listMethods().includes(opts.method)) throw new CliError(`unknown method '${opts.method}' (known: ${listMethods().join(', ')})`);
  const target = opts.queue !== undefined ? await queueTarget(opts.queue, !!opts.insecure) : undefined;
  if (target) await reachQueue(target);
  const json = !!opts.json;
  const name = path.basename(out);
  info(json, `sweep ${name}: ${runs.length} runs (${runs.map((r) => r.id).join(' | ')})${opts.queue ? ' on the queue' : `, ${Math.min(opts.parallel, runs.length)} at once`}`);
  let results: (TrainJobResult & { worker?: string })[];
  if (target) {
    const { runSweepOnQueue } = await import('../experiments/harness/queue.ts');
    const progress = queueProgress(json, 'runs');
    try {
      results = await runSweepOnQueue(runs.map((r) => ({ id: r.id, cfg: r.cfg })), { target, group: name, log: (l) => info(json, l), onProgress: progress.onProgress });
    } catch (e) {
      throw new CliError((e as Error).message);
    } finally {
      progress.stop();
    }
  } else {
    const { runParallel } = await import('../policies/train/data_parallel.ts');
    const { TRAIN_JOB_MODULE } = await import('../experiments/harness/train_job.ts');
    results = await runParallel<TrainJob, TrainJobResult>(TRAIN_JOB_MODULE, runs.map((r) => ({ runDir: path.join(out, r.id), cfg: r.cfg, resume: 'auto' })), opts.parallel);
  }
  const summary = {
    sweep: out, queue: target?.display ?? null,
    runs: runs.map((r, i) => ({ id: r.id, grid: r.grid, ...results[i]! })),
  };
  writeJsonAtomic(path.join(out, 'sweep.json'), summary, 2);
  if (json) printJson(summary);
  else for (const r of summary.runs) info(false, `${r.id}: final loss ${r.finalLoss.toFixed(4)}${r.eval ? `, success ${((r.eval['eval/success_rate'] ?? 0) * 100).toFixed(1)}%` : ''} → ${r.runDir}${r.worker ? ` (on ${r.worker})` : ''}`);
}

export function register(program: Command): void {
  program
    .command('train')
    .description('train a policy (offline from a dataset, or PPO in simulation) into a run folder')
    .requiredOption('--method <name>', `training method: ${listMethods().join(' | ')} (policies/registry.ts)`)
    .requiredOption('--scene <id>', 'scene id')
    .option('--data <dir>', 'dataset folder (offline methods)')
    .requiredOption('--steps <n>', 'optimisation steps (ppo: environment steps)', parseIntOpt('steps', 1))
    .requiredOption('--out <dir>', 'run folder')
    .option('--seed <s>', 'seed', parseIntOpt('seed', 0), 0)
    .option('--resume', 'continue the run in --out from its latest checkpoint')
    .option('--init <run[:step]>', "start a fresh run from another run's inference (EMA) weights, matched by parameter name")
    .option('--backend <name>', `TensorFlow.js backend: ${BACKEND_CHOICES.join(' | ')}`, 'auto')
    .option('--workers <n>', 'data-parallel workers (offline) / env workers (ppo)', parseIntOpt('workers', 1), 1)
    .option('--batch <n>', "batch size (default: the method stage's, 256 offline)", parseIntOpt('batch', 1, 1_000_000))
    .option('--lr <x>', 'learning rate')
    .option('--checkpoint-every <n>', 'checkpoint (and evaluate) every N steps', parseIntOpt('checkpoint-every', 1))
    .option('--eval-episodes <n>', 'evaluation episodes at each checkpoint', parseIntOpt('eval-episodes', 0), 0)
    .option('--config <key=value>', 'method config override (repeatable), e.g. --config inferSteps=10; --config stage=NAME picks a training stage', collect)
    .option('--set <key=value>', 'scene config override (repeatable)', collect)
    .option('--json', 'print a JSON summary on stdout')
    .option('--grid <key=v1,v2>', 'a sweep: one run per combination (repeatable; keys seed, lr, batch, steps, set.PATH, or a method config key), each in --out/<key=value,…>', collect)
    .option('--parallel <n>', 'with --grid and no --queue: runs at once on worker threads', parseIntOpt('parallel', 1), 1)
    .option('--queue <url>', 'with --grid: run the sweep on `stride worker`s through this Redis queue, redis://[:PASSWORD@]HOST[:PORT][/DB]')
    .option('--insecure', 'with --queue: allow a non-loopback Redis without a password')
    .action(action(async (opts: TrainOpts) => {
      const runDir = path.resolve(opts.out);
      const command = `stride ${process.argv.slice(2).join(' ')}`.replace(/(rediss?:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
      if (opts.grid?.length) return sweep(opts, command);
      if (opts.queue) throw new CliError('--queue runs a sweep: give at least one --grid key=v1,v2', 2);
      let cfg: TrainConfig;
      if (opts.resume) {
        if (opts.init) throw new CliError('--init starts a fresh run; --resume continues one: pass only one of them', 2);
        cfg = readRunConfig(runDir);
        if (cfg.method !== opts.method || cfg.sceneId !== opts.scene) throw new CliError(`--resume: ${runDir}/config.json is a ${cfg.method} run on ${cfg.sceneId}, not ${opts.method} on ${opts.scene}`);
        cfg.steps = Math.max(cfg.steps, opts.steps);
      } else {
        if (existsSync(path.join(runDir, 'config.json'))) throw new CliError(`${runDir} already holds a run (config.json); pass --resume or choose another --out`);
        cfg = freshConfig(opts, command);
      }
      if (!listMethods().includes(cfg.method)) throw new CliError(`unknown method '${cfg.method}' (known: ${listMethods().join(', ')})`);
      await loadScenes();
      const backend = await initBackend(opts.resume ? cfg.backend : opts.backend);
      if (opts.resume && cfg.backendRunning && cfg.backendRunning !== backend) throw new CliError(`--resume: run used backend ${cfg.backendRunning}, this process has ${backend} (results would not be bit-identical)`);
      cfg.backendRunning = backend;
      const created = !existsSync(runDir);
      writeRunConfig(runDir, cfg);
      info(!!opts.json, `training ${cfg.method}${cfg.stage ? ` (${cfg.stage})` : ''} on ${cfg.sceneId} → ${runDir} (backend ${backend}, ${cfg.workers} worker${cfg.workers > 1 ? 's' : ''})${cfg.init ? `, from ${cfg.init.checkpoint}` : ''}`);

      const bar = process.stderr.isTTY && !opts.json
        ? new cliProgress.SingleBar({ format: '{bar} {value}/{total} | loss {loss} | {sps} samples/s', hideCursor: true }, cliProgress.Presets.shades_classic)
        : null;
      let lastLoss = NaN, lastSps = 0, lastEval: Record<string, number> | undefined;
      const cb = {
        onStart: (total: number, start: number) => bar?.start(total, start, { loss: '-', sps: '-' }),
        onProgress: (step: number, loss: number, sps: number) => {
          lastLoss = loss; lastSps = sps;
          if (bar) bar.update(step, { loss: loss.toFixed(4), sps: sps.toFixed(0) });
          else if (step % 100 === 0) info(!!opts.json, `step ${step}: loss ${loss.toFixed(4)}, ${sps.toFixed(0)} samples/s`);
        },
        onCheckpoint: (step: number, dir: string, ev?: Record<string, number>) => {
          lastEval = ev;
          if (!bar) info(!!opts.json, `checkpoint ${step} → ${dir}${ev ? ` (success ${(ev['eval/success_rate']! * 100).toFixed(1)}%)` : ''}`);
        },
      };
      try {
        const r = await getMethod(cfg.method).train(runDir, cfg, !!opts.resume, cb);
        r.policy.dispose();
      } catch (e) {
        // A fresh run that failed before its first checkpoint (bad dataset, bad config) leaves no folder behind.
        if (created && !existsSync(path.join(runDir, 'latest'))) rmSync(runDir, { recursive: true, force: true });
        throw e;
      } finally {
        bar?.stop();
      }
      const out = { run: runDir, method: cfg.method, scene: cfg.sceneId, steps: cfg.steps, backend, workers: cfg.workers, finalLoss: lastLoss, samplesPerSec: lastSps, eval: lastEval ?? null };
      if (opts.json) printJson(out);
      else info(false, `done: ${cfg.steps} steps, final loss ${lastLoss.toFixed(4)}`);
    }));
}
