/**
 * `stride experiment fdp` — the FDP study (issue 15, POLICIES.md §1.6) on the harness: the protocol table is
 * ./protocol.ts, this file is the scene adapter (manip/push_block: data, keys, conditions, outcomes) and the cell
 * (train one model of one kind on the first N demos with one seed, evaluate its arms on that seed's own starts).
 *
 * Stages (cells.ts `stage`): 0 = the floor guard's models (joint DP and base at the full N) and every other base
 * (the residuals' parents; the study stops after this stage when the guard fails); 1 = the other joint DPs and the
 * residuals (FDP, its output-sum ablation, FDP reversed), each warm-started from its stage-0 base's EMA weights (the
 * in-memory `--init`: base copied, residual from its own init, base frozen). A base cell writes its EMA weights next to the
 * cell cache (`models/`), keyed like the cell, and the residual cell's slice includes the base's.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeJsonAtomic } from '../../sim/data/atomic.ts';
import { readDataset } from '../../sim/data/dataset.ts';
import { recordExpertEpisodes } from '../../sim/data/demos.ts';
import { initBackend } from '../../policies/common/backend.ts';
import { defaultAdam } from '../../policies/common/params.ts';
import type { MethodPolicy, PolicySpec } from '../../policies/common/policy.ts';
import type { FdpPolicy } from '../../policies/fdp/index.ts';
import { getMethod } from '../../policies/registry.ts';
import { evaluateEpisodes } from '../../policies/train/evaluate.ts';
import { offlineSpec, trainOfflineInMemory } from '../../policies/train/offline_loop.ts';
import type { TrainConfig } from '../../policies/train/run.ts';
import { loadScenes } from '../../scenes/index.ts';
import type { ArmRun, ArmSummary, EpisodeOutcome } from '../harness/claims.ts';
import { cellKey, type CellSpec } from '../harness/cells.ts';
import type { ArmSpec, Protocol } from '../harness/protocol.ts';
import { startsFor, trainSeeds } from '../harness/protocol.ts';
import { runStudy, type CellOutput, type StudyDef } from '../harness/study.ts';
import { BASE_TASK, KEYS, ORDERINGS, SHIFTS, TASK, armId, dataSizes, fdpProtocol, fullBudget, parseBudget, quickBudget, type FdpBudget, type ModelKind, type TaskSettings } from './protocol.ts';

const SCENE = 'manip/push_block';
const ALL_KEYS = [KEYS.state, KEYS.goal, KEYS.cue, KEYS.depth];

/** The policy config of a model kind (method, config over its defaults). */
function modelConfig(kind: ModelKind, b: FdpBudget, jointWidth: number): { method: string; config: Record<string, unknown> } {
  const common = { obsHorizon: 2, predHorizon: 8, actionHorizon: 4, trainSteps: b.trainSteps, inferSteps: b.inferSteps, emaDecay: b.emaDecay, depth: b.depth, depthFeatures: b.depthFeatures };
  if (kind === 'joint') return { method: 'diffusion', config: { ...common, obsKeys: ALL_KEYS, encoder: 'pool', width: jointWidth } };
  const o = kind === 'base-rev' || kind === 'fdp-rev' ? ORDERINGS.vision : ORDERINGS.prop;
  const phase = kind === 'base' || kind === 'base-rev' ? 'base' : 'residual';
  // the base reads only its keys; the residual's window holds every key (same per-key normalisation either way)
  const obsKeys = phase === 'base' ? [...o.priority] : [...o.priority, ...o.rest];
  return { method: 'fdp', config: { ...common, obsKeys, priority: [...o.priority], rest: [...o.rest], phase, compose: kind === 'fdp-out' ? 'output' : 'blockwise', width: b.width, resWidth: b.resWidth, encoder: 'pool' } };
}

const trainCfg = (method: string, config: Record<string, unknown>, b: FdpBudget, seed: number, data: string): TrainConfig => ({
  method, sceneId: SCENE, data, steps: 1, seed, batchSize: b.batchSize, optim: { ...defaultAdam(), lr: b.lr }, checkpointEvery: 0, evalEpisodes: 0,
  logEvery: 50, workers: 1, backend: 'auto', backendRunning: 'auto', methodConfig: config, overrides: {}, command: 'stride experiment fdp',
});

const f32ToB64 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const b64ToF32 = (s: string) => { const b = Buffer.from(s, 'base64'); return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); };

// --- the cell: one (model kind, N, model seed) → train, evaluate its arms on its own starts ---

export interface CellInput {
  kind: ModelKind; n: number; seed: number; seedIndex: number; dataDir: string; budget: FdpBudget; protocol: Protocol; arms: ArmSpec[]; backend: string;
  jointWidth: number; taskOverrides: Record<string, unknown>;
  /** Base cells: where to write the EMA weights; residual cells: where to read their base's. */
  modelOut?: string; baseModel?: string;
}

/** Median of a list (NaN when empty). */
function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, c) => a - c), m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function runCell(c: CellInput): Promise<CellOutput> {
  const t0 = performance.now();
  const backend = await initBackend(c.backend);
  await loadScenes();
  const b = c.budget;

  // --- train ---
  const ds = await readDataset(c.dataDir);
  const { method, config } = modelConfig(c.kind, b, c.jointWidth);
  const spec: PolicySpec = offlineSpec(getMethod(method), trainCfg(method, config, b, c.seed, c.dataDir), ds);
  const steps = c.kind === 'joint' ? b.jointSteps : c.kind === 'base' || c.kind === 'base-rev' ? b.baseSteps : b.resSteps;
  let init: Record<string, Float32Array> | undefined;
  if (c.baseModel) {
    const j = JSON.parse(readFileSync(c.baseModel, 'utf8')) as Record<string, string>;
    init = Object.fromEntries(Object.entries(j).map(([k, v]) => [k, b64ToF32(v)]));
  }
  const losses: number[] = [], ratios: number[] = [];
  const tt = performance.now();
  const policy: MethodPolicy = trainOfflineInMemory(getMethod(method), ds, spec, {
    steps, batchSize: b.batchSize, optim: { ...defaultAdam(), lr: b.lr }, seed: c.seed, init,
    onStep: (s, l, m) => { if (s % 50 === 0 || s === steps) { losses.push(l); if (m['losses/res_ratio'] !== undefined) ratios.push(m['losses/res_ratio']); } },
  });
  const trainSec = (performance.now() - tt) / 1000;
  try {
    if (c.modelOut) {
      mkdirSync(path.dirname(c.modelOut), { recursive: true });
      const ema = policy.ema!.toArrays();
      writeJsonAtomic(c.modelOut, Object.fromEntries(Object.entries(ema).map(([k, v]) => [k, f32ToB64(v)])));
    }

    // --- evaluate every arm of this model (one lock-step batch per arm; same noise seed for every arm: paired) ---
    const fdp = method === 'fdp' && (c.kind !== 'base' && c.kind !== 'base-rev') ? (policy as FdpPolicy) : null;
    const runs: ArmRun[] = c.arms.map((arm) => {
      const st = arm.settings as { condition: string; overrides: Record<string, number> };
      const seeds = startsFor(c.protocol, arm.split ?? 'heldOut', c.seedIndex, arm.episodesPerSeed ?? c.protocol.episodesPerSeed);
      if (fdp) fdp.resProbe = [];
      const eps = evaluateEpisodes(policy, { sceneId: SCENE, overrides: { ...BASE_TASK, ...c.taskOverrides, maxSteps: b.evalMaxSteps, ...st.overrides }, seeds, noiseSeed: 7_000_000 + 1000 * c.seed });
      const episodes: EpisodeOutcome[] = eps.map((e, i) => ({
        start: e.seed, success: +e.success, nonFinite: +e.nonFinite, length: e.length,
        ...(fdp ? { resRatio: median(fdp.resProbe![i] ?? []) } : {}),
      }));
      if (fdp) fdp.resProbe = null;
      const k = episodes.filter((e) => e.success).length;
      process.stderr.write(`fdp: ${arm.id} seed ${c.seed}: ${k}/${episodes.length}\n`);
      return { arm: arm.id, method: arm.method, seed: c.seed, seedIndex: c.seedIndex, episodes };
    });
    return {
      runs, backend, wallSec: (performance.now() - t0) / 1000,
      train: { kind: c.kind, n: c.n, seed: c.seed, steps, trainSec, samplesPerSec: (steps * b.batchSize) / Math.max(trainSec, 1e-9), params: policy.params.count(), finalLoss: losses[losses.length - 1] ?? NaN, lossCurve: losses, ...(ratios.length ? { resRatioCurve: ratios } : {}) },
    };
  } finally {
    policy.dispose();
  }
}

// --- the study ---

/** Parameter count of a model kind on dataset `ds` (policies built on the cpu backend, then disposed). */
function paramCount(kind: ModelKind, b: FdpBudget, jointWidth: number, ds: Awaited<ReturnType<typeof readDataset>>): number {
  const { method, config } = modelConfig(kind, b, jointWidth);
  const p = getMethod(method).create(offlineSpec(getMethod(method), trainCfg(method, config, b, 0, ''), ds), 0);
  try { return p.params.count(); } finally { p.dispose(); }
}

function studyDef(b: FdpBudget, backend: string, task: TaskSettings): StudyDef<CellInput> {
  const protocol = fdpProtocol(b, task);
  const sizes = dataSizes(b), F = b.fullN;
  const demoOverrides = { ...BASE_TASK, ...task.overrides };
  return {
    protocol, cellModule: fileURLToPath(import.meta.url), guardStage: 0,
    async prepare(cacheDir, log) {
      await loadScenes();
      await initBackend('cpu');
      // nested data: the first N demos of one seed list (train split seeds 0 … N − 1), one folder per N
      const dirs: Record<number, string> = {};
      const stats: Record<string, unknown> = {};
      for (const n of sizes) {
        const dir = path.join(cacheDir, `data-${n}-${cellKey({ SCENE, demoOverrides, ALL_KEYS, n })}`);
        if (!existsSync(path.join(dir, 'meta', 'info.json'))) {
          log(`fdp: writing ${n} expert demos of ${SCENE} → ${dir}`);
          const r = recordExpertEpisodes({ sceneId: SCENE, overrides: demoOverrides }, { seeds: trainSeeds(protocol, n), keys: ALL_KEYS, out: dir, force: true });
          if (r.successes < n) log(`fdp: ${n - r.successes} of ${n} demos did not succeed (kept: the expert's data as recorded)`);
        }
        const ds = await readDataset(dir);
        dirs[n] = dir;
        stats[n] = { episodes: ds.info.numEpisodes, frames: ds.info.numFrames, successes: ds.episodes.filter((e) => e.success).length };
      }
      // joint DP's width: the one whose parameter count is closest to base + residual (blockwise), at the full N
      const ds = await readDataset(dirs[F]!);
      const fdpParams = paramCount('fdp', b, 0, ds);
      let jointWidth = b.width, best = Infinity;
      for (let w = 4; w <= 1024; w++) {
        const n = paramCount('joint', b, w, ds), d = Math.abs(n - fdpParams);
        if (d < best) { best = d; jointWidth = w; }
        if (n > fdpParams * 1.2) break;
      }
      const params = { base: paramCount('base', b, 0, ds), fdp: fdpParams, fdpOut: paramCount('fdp-out', b, 0, ds), baseRev: paramCount('base-rev', b, 0, ds), fdpRev: paramCount('fdp-rev', b, 0, ds), joint: paramCount('joint', b, jointWidth, ds), jointWidth };
      log(`fdp: joint DP width ${jointWidth}: ${params.joint} parameters vs FDP (base + residual) ${params.fdp}`);
      return { dataDirs: dirs, data: stats, params, taskOverrides: task.overrides };
    },
    cells: (prep) => {
      const dirs = prep.dataDirs as Record<number, string>, jointWidth = (prep.params as { jointWidth: number }).jointWidth;
      const cacheRoot = path.dirname(dirs[F]!);
      const out: CellSpec<CellInput>[] = [];
      const plan: [ModelKind, number, number][] = [];
      // stage 0: the guard's models and every base (the residuals' parents); stage 1: the rest
      for (const n of sizes) { plan.push(['joint', n, n === F ? 0 : 1], ['base', n, 0], ['fdp', n, 1]); }
      plan.push(['base-rev', F, 0], ['fdp-out', F, 1], ['fdp-rev', F, 1]);
      // within a stage: the long joint-DP cells first, then by N descending
      plan.sort((x, y) => x[2] - y[2] || +(y[0] === 'joint') - +(x[0] === 'joint') || y[1] - x[1]);
      const slices = new Map<string, unknown>();
      protocol.modelSeeds.forEach((seed, seedIndex) => {
        for (const [kind, n, stage] of plan) {
          const model = kind === 'base-rev' ? null : kind;
          const arms = model ? protocol.arms.filter((a) => (a.settings as { model: string; n: number }).model === model && (a.settings as { n: number }).n === n) : [];
          const id = `${kind}-N${n}-s${seed}`;
          const baseKind = kind === 'fdp-rev' ? 'base-rev' : 'base';
          const parent = kind === 'fdp' || kind === 'fdp-out' || kind === 'fdp-rev' ? `${baseKind}-N${n}-s${seed}` : null;
          const slice = { kind, n, seed, seedIndex, budget: { ...b, workers: 0 }, arms, splits: protocol.splits, episodesPerSeed: protocol.episodesPerSeed, task: task.overrides, jointWidth, parent: parent ? slices.get(parent) : null };
          slices.set(id, slice);
          const modelFile = (cid: string) => path.join(cacheRoot, 'models', `${cid}-${cellKey(slices.get(cid))}.json`);
          out.push({
            id, slice, stage,
            input: { kind, n, seed, seedIndex, dataDir: dirs[n]!, budget: b, protocol, arms, backend, jointWidth, taskOverrides: task.overrides, ...(kind === 'base' || kind === 'base-rev' ? { modelOut: modelFile(id) } : {}), ...(parent ? { baseModel: modelFile(parent) } : {}) },
          });
        }
      });
      return out;
    },
    derived: (arms, _runs, cells, prep) => derivedOf(b, arms, cells, prep),
    text: (prep) => {
      const pc = prep.params as Record<string, number>;
      return {
        setting: 'a CPU-sized stand-in for the paper\'s benchmarks: the Rapier table-top arm pushing a block to a target (cartesian actions), with proprioception + the goal + a coarse noisy object cue (prioritised) and a 32×32 depth camera (the rest); residual FiLM-MLP backbone instead of DP-UNet/DiT; shifts corrupt only the camera. Agreement is about the mechanism (prioritised base + zero-initialised residual), not the paper\'s numbers.',
        metrics: { success: 'block centre within targetTolM of the target (scene criterion)', nonFinite: 'episode cut short by a non-finite action (a failure)' },
        extra: [
          `Parameters: base ${pc.base}, FDP base + residual ${pc.fdp} (output-sum ${pc.fdpOut}; reversed ${pc.fdpRev}), joint DP ${pc.joint} (width ${pc.jointWidth}, ${(((pc.joint! - pc.fdp!) / pc.fdp!) * 100).toFixed(1)}% from FDP).`,
        ],
      };
    },
  };
}

/** The low-data rows, res_ratio per condition, and training throughput per model kind. */
function derivedOf(b: FdpBudget, arms: Record<string, ArmSummary>, cells: { id: string; out: CellOutput }[], prep: Record<string, unknown>): Record<string, unknown> {
  const row = (id: string) => { const s = arms[id]?.metrics.success; return s ? { rate: s.pooled.rate, ci95: s.pooled.ci95, n: s.pooled.n, perSeed: s.perSeed } : null; };
  const lowData = dataSizes(b).flatMap((n) => ['fdp', 'joint', 'base'].map((m) => ({ n, model: m, success: row(armId(m, n, 'nominal')) })));
  const resRatio = Object.fromEntries(['nominal', ...SHIFTS].map((c) => {
    const r = arms[armId('fdp', b.fullN, c)]?.metrics.resRatio;
    return [c, r ? { mean: r.pooled.rate, perSeedMean: r.perSeed } : null];
  }));
  const speed: Record<string, number[]> = {};
  for (const c of cells) { const t = c.out.train as { kind: string; samplesPerSec: number } | undefined; if (t) (speed[t.kind] ??= []).push(t.samplesPerSec); }
  const samplesPerSec = Object.fromEntries(Object.entries(speed).map(([k, v]) => [k, v.reduce((x, y) => x + y, 0) / v.length]));
  return { lowData, resRatioMean: resRatio, samplesPerSec, params: prep.params };
}

/** The study as `stride experiment fdp` sees it (cli/experiment.ts). */
export const experiment = {
  description: 'FDP: prioritised base + zero-initialised block-wise residual vs joint Diffusion Policy; low-data and camera-shift claims (manip/push_block)',
  scenes: [SCENE],
  async run(o: { quick: boolean; budget: string[]; outDir: string; cacheDir: string; backend: string; command: string; log: (l: string) => void; pilot?: boolean }): Promise<Record<string, unknown>> {
    const b: FdpBudget = { ...(o.quick ? quickBudget() : fullBudget()), ...parseBudget(o.budget) };
    for (const k of ['lowN1', 'lowN2', 'fullN', 'seeds', 'evalEpisodes', 'guardEpisodes', 'baseSteps', 'resSteps', 'jointSteps', 'batchSize', 'workers'] as const) if (!(b[k] > 0)) throw new Error(`fdp: budget ${k} must be positive`);
    if (Math.max(...dataSizes(b)) > b.dataEpisodes) throw new Error(`fdp: budget N up to ${Math.max(...dataSizes(b))} needs dataEpisodes ≥ that (got ${b.dataEpisodes})`);
    const cacheDir = path.join(o.cacheDir, 'fdp', o.quick ? 'quick' : 'full');
    return await runStudy(studyDef(b, o.backend, TASK), { mode: o.quick ? 'quick' : 'full', outDir: o.outDir, cacheDir, workers: b.workers, command: o.command, log: o.log, stopAfterGuard: !!o.pilot, continuePastGuard: o.quick }) as unknown as Record<string, unknown>;
  },
};
