/**
 * `stride experiment beso` — the BESO study on planar multimodal Block-Push (`manip/block_push`, issue 14): the
 * protocol table is ./protocol.ts; this file is the scene adapter (data, inputs, goals, outcomes, the probe) and the
 * cell (train one model of one method on one seed, evaluate its arms on that seed's own starts). Splits, paired
 * starts, caching, intervals, floor guard, `met: null` and the report are experiments/harness/.
 * (The toy study on toy/zone_play is experiments/beso-toy/, `stride experiment beso-toy`.)
 *
 * - Data: the scene's planar Markovian expert on the train split; an episode ends when both blocks are within the
 *   expert's own tolerance of their zones (`successTolM = expertDoneTolM`) and its final observation is recorded
 *   (`finalFrame`), so every demonstration ends *at* its goal; only successful episodes are kept (the first
 *   `dataEpisodes`).
 * - Inputs: one frame = `observation.state` (pusher, commanded target) + `observation.object` (both blocks' x, z);
 *   goal = the object part (block positions), hindsight-relabelled goalMin…goalMax frames ahead (clipped to the
 *   final, at-goal frame). BESO takes the goal as its own input with CFG masking; DP and BC get it appended to
 *   every observation frame. All three: To = 2, Tp = 8, Ta = 4, the same residual MLP width/depth, steps, batch,
 *   lr (cosine decay), EMA 0.999 for the diffusion models.
 * - Evaluation goals ('expert-final'): the final block positions of the expert's own run from the same start with
 *   the scene's drawn assignment (reachable, in distribution). 'zone-centre': the assignment's zone centres (a second,
 *   labelled condition). 'none': goal-free (BESO λ = 0).
 * - Outcomes per episode: result ∈ {0, ½, 1}, reward ∈ {0, ½, 1}, strict ∈ {0, 1} (scene metrics); the probe's modes
 *   = which block entered a zone first (modeA = block0, modeB = block1).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OBS_GOAL, OBS_OBJECT, OBS_STATE, type Observation } from '../../sim/core/features.ts';
import { makeEnv, runEpisode } from '../../sim/core/index.ts';
import { entropy, rate } from '../../sim/math/stats.ts';
import { readDataset } from '../../sim/data/dataset.ts';
import { recordExpertEpisodes } from '../../sim/data/demos.ts';
import { initBackend } from '../../policies/common/backend.ts';
import { trainGoalConditioned } from '../../policies/beso/train.ts';
import { evaluateEpisodes } from '../../policies/train/evaluate.ts';
import type { EpisodeOutcome } from '../harness/claims.ts';
import type { ArmSpec, Protocol } from '../harness/protocol.ts';
import { startsFor } from '../harness/protocol.ts';
import { cellKey } from '../harness/cells.ts';
import { loadScenes } from '../../scenes/index.ts';
import { runStudy, type CellOutput, type RunStudyOptions, type StudyDef } from '../harness/study.ts';
import { besoProtocol, fullBudget, parseBudget, quickBudget, type BesoBudget, type GoalKind } from './protocol.ts';

export const SCENE = 'manip/block_push';
/**
 * Task simplifications after a failed floor guard (protocol.simplifications says why, with the guard's numbers):
 * scene overrides applied to the data, the expert's goal runs and every evaluation alike.
 */
export const TASK_OVERRIDES: Record<string, unknown> = { startJitterM: 0.005, pusherJitterM: 0.005, yawJitterRad: 0, zoneTolM: 0.07 };
/** Expert tolerance (the scene's expertDoneTolM default): demonstrations end when both blocks are this close. */
const DEMO_OVERRIDES = { ...TASK_OVERRIDES, successTolM: 0.02, maxSteps: 200 };
/** The probe: a fixed start (no jitter of blocks, pusher or yaw) and the straight assignment. */
export const PROBE_OVERRIDES = { startJitterM: 0, pusherJitterM: 0, yawJitterRad: 0, assignment: 0 };
export const OBS_KEYS = [OBS_STATE, OBS_OBJECT];
/** Goal = the object part of a frame (block0 x, z, block1 x, z): frame indices 4…7. */
export const GOAL_DIMS = [4, 5, 6, 7];

export function methodConfig(method: string, b: BesoBudget): Record<string, unknown> {
  const horizon = { obsHorizon: 2, predHorizon: 8, actionHorizon: 4 };
  if (method === 'beso') return { ...horizon, width: b.width, depth: b.depth, act: 'silu', emaDecay: 0.999, sigmaMin: 0.05, sigmaMax: 1, goalHorizonMin: b.goalMin, goalHorizonMax: b.goalMax };
  if (method === 'diffusion') return { ...horizon, width: b.width, depth: b.depth, trainSteps: 100, inferSteps: 10, emaDecay: 0.999, obsNorm: 'minmax' };
  return { ...horizon, hidden: Array(b.depth).fill(b.width), obsNorm: 'minmax', emaDecay: 0 };
}

/** The expert's own final block positions from each start (the evaluation goals), with the given scene overrides. */
export function expertFinalGoals(seeds: readonly number[], overrides: Record<string, unknown>): { goals: Map<number, Float32Array>; successes: number } {
  const env = makeEnv(SCENE, { ...overrides, ...DEMO_OVERRIDES, maxSteps: 200 });
  const goals = new Map<number, Float32Array>();
  let successes = 0;
  try {
    for (const s of seeds) {
      let last: Observation | null = null;
      const ep = runEpisode(env, s, (e) => { const x = e.expert(); return () => x.act(); }, { onStep: (_t, _a, r) => { last = r.obs; } });
      if (ep.success) successes++;
      goals.set(s, Float32Array.from((last as Observation | null)![OBS_OBJECT]!));
    }
  } finally {
    env.dispose();
  }
  return { goals, successes };
}

// --- the cell: one (method, model seed) → train, evaluate its arms on its own starts ---

export interface CellInput { method: string; seed: number; seedIndex: number; dataDir: string; budget: BesoBudget; protocol: Protocol; arms: ArmSpec[]; backend: string; maxSteps: number }

interface ArmSettings { probe?: boolean; goal?: GoalKind; sampler?: 'ddim' | 'euler'; steps?: number; guidance?: number; inferSteps?: number }

export async function runCell(c: CellInput): Promise<CellOutput> {
  const t0 = performance.now();
  const backend = await initBackend(c.backend);
  await loadScenes();
  const b = c.budget;
  const tr = trainGoalConditioned(await readDataset(c.dataDir), {
    method: c.method, config: methodConfig(c.method, b), obsKeys: OBS_KEYS, goalDims: GOAL_DIMS, goalHorizonMin: b.goalMin, goalHorizonMax: b.goalMax,
    steps: b.trainSteps, batchSize: b.batchSize, lr: b.lr, lrSchedule: 'cosine', seed: c.seed, logEvery: Math.max(1, Math.floor(b.trainSteps / 20)),
    onLog: (step, loss, sps) => { if (step % Math.max(1, Math.floor(b.trainSteps / 5)) === 0) process.stderr.write(`beso: ${c.method} seed ${c.seed} step ${step}/${b.trainSteps} loss ${loss.toFixed(4)} (${sps.toFixed(1)} steps/s)\n`); },
  });
  const goalStats: Record<string, { starts: number; expertSuccesses: number }> = {};
  const goalCache = new Map<string, { goals: Map<number, Float32Array>; successes: number }>();
  try {
    const runs = c.arms.map((arm) => {
      const s = arm.settings as ArmSettings;
      const split = arm.split ?? 'heldOut';
      const seeds = startsFor(c.protocol, split, c.seedIndex, arm.episodesPerSeed ?? c.protocol.episodesPerSeed);
      const overrides = { ...TASK_OVERRIDES, maxSteps: c.maxSteps, ...(s.probe ? PROBE_OVERRIDES : {}) };
      let goals: Map<number, Float32Array> | null = null;
      if (s.goal === 'expert-final') {
        const key = JSON.stringify({ seeds, overrides });
        if (!goalCache.has(key)) goalCache.set(key, expertFinalGoals(seeds, overrides));
        const g = goalCache.get(key)!;
        goals = g.goals;
        goalStats[arm.id] = { starts: seeds.length, expertSuccesses: g.successes };
      }
      const act = s.inferSteps ? { steps: s.inferSteps } : c.method === 'beso' ? { sampler: s.sampler, steps: s.steps, guidance: s.guidance } : {};
      const eps = evaluateEpisodes(tr.policy, {
        sceneId: SCENE, overrides, seeds, noiseSeed: 7_000_000 + 1000 * c.seed,
        actOptions: (seed, obs) => (s.goal === 'none' ? act : { ...act, goal: s.goal === 'expert-final' ? goals!.get(seed)! : Float32Array.from(obs[OBS_GOAL]!) }),
      });
      const episodes: EpisodeOutcome[] = eps.map((e) => {
        const m = e.metrics, fb = m.firstBlock ?? -1;
        return { start: e.seed, result: e.nonFinite ? 0 : m.result ?? 0, reward: e.nonFinite ? 0 : m.reward ?? 0, strict: +e.success, modeA: +(fb === 0), modeB: +(fb === 1), firstZone: m.firstZone ?? -1, nonFinite: +e.nonFinite, length: e.length };
      });
      const mean = (k: string) => episodes.reduce((a, e) => a + e[k]!, 0) / Math.max(1, episodes.length);
      process.stderr.write(`beso: ${arm.id} seed ${c.seed}: result ${(mean('result') * 100).toFixed(1)}% reward ${(mean('reward') * 100).toFixed(1)}% strict ${(mean('strict') * 100).toFixed(1)}%\n`);
      return { arm: arm.id, method: c.method, seed: c.seed, seedIndex: c.seedIndex, episodes };
    });
    return { runs, backend, wallSec: (performance.now() - t0) / 1000, trainWallSec: tr.wallSec, finalLoss: tr.finalLoss, lossCurve: tr.lossCurve, goalStats };
  } finally {
    tr.policy.dispose();
  }
}

// --- the study ---

function studyDef(b: BesoBudget, backend: string): StudyDef<CellInput> {
  const protocol = besoProtocol(b);
  return {
    protocol, cellModule: fileURLToPath(import.meta.url),
    async prepare(cacheDir, log) {
      await loadScenes();
      const tr = protocol.splits.train;
      // keyed by what the data depends on, not by the code identity (delete the cache after changing the scene or its expert)
      const dataDir = path.join(cacheDir, `data-${b.dataEpisodes}-${cellKey({ SCENE, DEMO_OVERRIDES, OBS_KEYS, episodes: b.dataEpisodes, finalFrame: true }, 'block-push-data-v1')}`);
      if (!existsSync(path.join(dataDir, 'meta', 'info.json'))) {
        log(`beso: writing ${b.dataEpisodes} demonstrations of ${SCENE} → ${dataDir}`);
        let kept = 0;
        const seeds = Array.from({ length: Math.min(tr.count, Math.ceil(b.dataEpisodes * 1.15) + 10) }, (_, i) => tr.start + i);
        recordExpertEpisodes({ sceneId: SCENE, overrides: DEMO_OVERRIDES }, {
          seeds, keys: OBS_KEYS, out: dataDir, force: true, finalFrame: true,
          keep: (ep) => (ep.success && kept < b.dataEpisodes ? (kept++, true) : false),
        });
        if (kept < b.dataEpisodes) throw new Error(`beso: only ${kept} of ${b.dataEpisodes} demonstrations succeeded in ${seeds.length} train seeds`);
      }
      const ds = await readDataset(dataDir);
      const lengths = ds.episodes.map((e) => e.length);
      const maxLen = Math.max(...lengths);
      // The data's own modes: first block pushed (the probe's question) and (first block, first zone).
      const fb = ds.episodes.map((e) => Number(e.labels.firstBlock)), modes = [0, 1, 2, 3].map((m) => ds.episodes.filter((e) => Number(e.labels.mode) === m).length);
      const b0 = fb.filter((x) => x === 0).length;
      return {
        dataDir, episodes: ds.info.numEpisodes, frames: ds.info.numFrames, maxDemoLength: maxLen, meanDemoLength: lengths.reduce((a, x) => a + x, 0) / lengths.length,
        evalMaxSteps: b.capFactor * maxLen,
        dataModes: { firstBlock0: rate(b0, fb.length), firstBlock1: rate(fb.length - b0, fb.length), byMode: modes, entropyNats: entropy(modes) },
      };
    },
    cells: (prep) => ['beso', 'diffusion', 'bc'].flatMap((method) => protocol.modelSeeds.map((seed, seedIndex) => {
      const arms = protocol.arms.filter((a) => a.method === method);
      const maxSteps = Number(prep.evalMaxSteps);
      const slice = { method, seed, seedIndex, budget: { ...b, workers: 0 }, arms, splits: protocol.splits, episodesPerSeed: protocol.episodesPerSeed, maxSteps, data: prep.dataDir };
      return { id: `${method}-s${seed}`, slice, input: { method, seed, seedIndex, dataDir: String(prep.dataDir), budget: b, protocol, arms, backend, maxSteps } };
    })),
    text: (prep) => {
      const d = prep.dataModes as { firstBlock0: { rate: number }; byMode: number[]; entropyNats: number };
      return {
        setting: 'planar multimodal Block-Push in Rapier (manip/block_push: a pusher at fixed height, two 4 cm blocks, two zones, any block to any zone in any order; (Δx, Δz) target actions at 10 Hz), CPU-sized: a residual MLP (the same width/depth for BESO, DP and BC) instead of the GPT, receding-horizon chunks (To 2, Tp 8, Ta 4) for every method instead of the paper\'s last-action-with-action-feedback. Blocks are pushed quasi-statically (the pusher–block contact is resolved in JS; block–block contacts and table friction are Rapier\'s). Goals are the expert\'s own final block positions from the same start (reachable); zone-centre goals are a second, labelled arm.',
        metrics: {
          result: 'blocks that ever entered their own goal zone / 2 (0, ½, 1; the paper\'s Result)',
          reward: 'blocks that ever entered any zone / 2 (tasks completed regardless of goal)',
          strict: 'both blocks in their goal zones at once (episode success; secondary)',
          modeA: 'probe: block0 entered a zone first', modeB: 'probe: block1 entered a zone first',
          nonFinite: 'episode cut short by a non-finite action (a failure)',
        },
        extra: [
          `Data: ${prep.episodes} demonstrations (${prep.frames} frames, mean length ${Number(prep.meanDemoLength).toFixed(1)}, longest ${prep.maxDemoLength}; episode cap ${prep.evalMaxSteps} = ${b.capFactor} × longest). Modes in the data (first block, first zone) = (0,0) ${d.byMode[0]}, (0,1) ${d.byMode[1]}, (1,0) ${d.byMode[2]}, (1,1) ${d.byMode[3]}; block0 first ${(d.firstBlock0.rate * 100).toFixed(1)}%; entropy ${d.entropyNats.toFixed(3)} nats (max ln 4 = 1.386).`,
          'Intervals of result/reward (values 0, ½, 1) are Wilson intervals of the mean over episodes: conservative for fractional outcomes (their variance is at most p(1 − p)); the cluster bootstrap in the JSON makes no such assumption.',
        ],
      };
    },
  };
}

/** The study as `stride experiment beso` sees it (cli/experiment.ts). */
export const experiment = {
  description: 'BESO on planar multimodal Block-Push: few-step EDM sampling, CFG goal guidance and multimodality vs DDPM Diffusion Policy and BC',
  scenes: [SCENE],
  async run(o: { quick: boolean; budget: string[]; outDir: string; cacheDir: string; backend: string; command: string; log: (l: string) => void; queue?: RunStudyOptions['queue']; onCell?: (finished: number, total: number) => void }): Promise<Record<string, unknown>> {
    const b: BesoBudget = { ...(o.quick ? quickBudget() : fullBudget()), ...parseBudget(o.budget) };
    const cacheDir = path.join(o.cacheDir, 'beso', o.quick ? 'quick' : 'full');
    return await runStudy(studyDef(b, o.backend), { mode: o.quick ? 'quick' : 'full', outDir: o.outDir, cacheDir, workers: b.workers, command: o.command, log: o.log, queue: o.queue, onCell: o.onCell }) as unknown as Record<string, unknown>;
  },
};
