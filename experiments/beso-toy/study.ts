/**
 * `stride experiment beso-toy` — the toy BESO study (POLICIES.md §2.8) on the harness: the protocol table is ./protocol.ts,
 * this file is the scene adapter (toy/zone_play: data, inputs, goals, outcomes, the probe) and the cell (train one
 * model of one method on one seed, evaluate its arms on that seed's own held-out starts). Everything else — splits,
 * paired starts, caching, intervals, floor guard, `met: null`, the report — is experiments/harness/.
 *
 * Data: the scene's scripted play expert (two zones per episode, random order, random side around the wall) on the
 * train split. Models: BESO (EDM, CFG goal guidance), the DDPM ε-prediction Diffusion Policy and a BC-MLP (both with
 * the goal appended to each observation frame), same windows (To = 2, Tp = 2, execute the last), same MLP, same
 * budget. Probe: fixed start (0, −0.8) and the middle zone, reachable around either side of the wall.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OBS_GOAL, OBS_STATE } from '../../sim/core/features.ts';
import { entropy, rate } from '../../sim/math/stats.ts';
import { readDataset } from '../../sim/data/dataset.ts';
import { recordExpertEpisodes } from '../../sim/data/demos.ts';
import { initBackend } from '../../policies/common/backend.ts';
import { trainGoalConditioned } from '../../policies/beso/train.ts';
import { evaluateEpisodes } from '../../policies/train/evaluate.ts';
import type { EpisodeOutcome } from '../harness/claims.ts';
import type { ArmSpec, Protocol } from '../harness/protocol.ts';
import { startsFor, trainSeeds } from '../harness/protocol.ts';
import { cellKey } from '../harness/cells.ts';
import { loadScenes } from '../../scenes/index.ts';
import { runStudy, type CellOutput, type RunStudyOptions, type StudyDef } from '../harness/study.ts';
import { besoProtocol, fullBudget, parseBudget, quickBudget, type BesoBudget } from './protocol.ts';

const SCENE = 'toy/zone_play';
/** Play data: two zones per episode, no early end. */
const PLAY_OVERRIDES = { terminateOnSuccess: false, maxSteps: 90 };
/** The probe: fixed start and goal (the middle zone), reachable around either side of the wall. */
const PROBE_OVERRIDES = { fixedStart: [0, -0.8], goalZone: 1 };
/** Policy input: the ball state; goal = its (x, z), hindsight-relabelled 10–50 frames ahead in the play data. */
const OBS_KEYS = [OBS_STATE], GOAL_DIMS = [0, 1], GOAL_HORIZON: [number, number] = [10, 50];

function methodConfig(method: string, b: BesoBudget): Record<string, unknown> {
  const common = { obsHorizon: 2, predHorizon: 2, actionHorizon: 1, width: b.width, depth: b.depth };
  if (method === 'beso') return { ...common, act: 'silu', emaDecay: 0.999 };
  if (method === 'diffusion') return { ...common, trainSteps: 100, inferSteps: 10, emaDecay: 0.999, obsNorm: 'minmax' };
  return { obsHorizon: 2, predHorizon: 2, actionHorizon: 1, hidden: Array(b.depth).fill(b.width), obsNorm: 'minmax', emaDecay: 0 };
}

// --- the cell: one (method, model seed) → train, evaluate its arms on its own starts ---

export interface CellInput { method: string; seed: number; seedIndex: number; dataDir: string; budget: BesoBudget; protocol: Protocol; arms: ArmSpec[]; backend: string }

export async function runCell(c: CellInput): Promise<CellOutput> {
  const t0 = performance.now();
  const backend = await initBackend(c.backend);
  await loadScenes();
  const b = c.budget;
  const tr = trainGoalConditioned(await readDataset(c.dataDir), {
    method: c.method, config: methodConfig(c.method, b), obsKeys: OBS_KEYS, goalDims: GOAL_DIMS, goalHorizonMin: GOAL_HORIZON[0], goalHorizonMax: GOAL_HORIZON[1],
    steps: b.trainSteps, batchSize: b.batchSize, lr: b.lr, seed: c.seed, logEvery: Math.max(1, Math.floor(b.trainSteps / 20)),
  });
  try {
    const runs = c.arms.map((arm) => {
      const { probe, ...opts } = arm.settings as { probe?: boolean; sampler?: 'ddim'; steps?: number; guidance?: number; inferSteps?: number };
      const seeds = startsFor(c.protocol, arm.split ?? 'heldOut', c.seedIndex, arm.episodesPerSeed ?? c.protocol.episodesPerSeed);
      const act = { ...(opts.inferSteps ? { steps: opts.inferSteps } : { sampler: opts.sampler, steps: opts.steps, guidance: opts.guidance }) };
      const eps = evaluateEpisodes(tr.policy, {
        sceneId: SCENE, overrides: { maxSteps: b.evalMaxSteps, ...(probe ? PROBE_OVERRIDES : {}) }, seeds, noiseSeed: 7_000_000 + 1000 * c.seed,
        actOptions: (_s, obs) => ({ ...act, goal: Float32Array.from(obs[OBS_GOAL]!) }),
      });
      const episodes: EpisodeOutcome[] = eps.map((e) => ({
        start: e.seed, success: +e.success, anyTask: e.metrics.anyZone ?? 0, modeA: +((e.metrics.passSide ?? 0) < 0), modeB: +((e.metrics.passSide ?? 0) > 0), nonFinite: +e.nonFinite, length: e.length,
      }));
      process.stderr.write(`beso: ${arm.id} seed ${c.seed}: goal ${(rate(episodes.filter((e) => e.success).length, episodes.length).rate * 100).toFixed(0)}%\n`);
      return { arm: arm.id, method: c.method, seed: c.seed, seedIndex: c.seedIndex, episodes };
    });
    return { runs, backend, wallSec: (performance.now() - t0) / 1000, trainWallSec: tr.wallSec, finalLoss: tr.finalLoss, lossCurve: tr.lossCurve };
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
      const dataDir = path.join(cacheDir, `data-${b.dataEpisodes}-${cellKey({ SCENE, PLAY_OVERRIDES, OBS_KEYS, episodes: b.dataEpisodes })}`);
      if (!existsSync(path.join(dataDir, 'meta', 'info.json'))) {
        log(`beso: writing ${b.dataEpisodes} play episodes of ${SCENE} → ${dataDir}`);
        recordExpertEpisodes({ sceneId: SCENE, overrides: PLAY_OVERRIDES }, { seeds: trainSeeds(protocol, b.dataEpisodes), keys: OBS_KEYS, out: dataDir, force: true, success: (ep) => (ep.metrics.numZones ?? 0) >= 2 });
      }
      const ds = await readDataset(dataDir);
      // The data's own modes on the probe's question: play episodes whose first zone is the middle one, by side.
      const mid = ds.episodes.filter((e) => Number(e.labels.firstZone) === PROBE_OVERRIDES.goalZone);
      const left = mid.filter((e) => Number(e.labels.side) < 0).length;
      return { dataDir, episodes: ds.info.numEpisodes, frames: ds.info.numFrames, probeData: { episodes: mid.length, modeA: rate(left, mid.length), modeB: rate(mid.length - left, mid.length), entropyNats: entropy([left, mid.length - left]) } };
    },
    cells: (prep) => ['beso', 'diffusion', 'bc'].flatMap((method) => protocol.modelSeeds.map((seed, seedIndex) => {
      const arms = protocol.arms.filter((a) => a.method === method);
      const slice = { method, seed, seedIndex, budget: { ...b, workers: 0 }, arms, splits: protocol.splits, episodesPerSeed: protocol.episodesPerSeed };
      return { id: `${method}-s${seed}`, slice, input: { method, seed, seedIndex, dataDir: String(prep.dataDir), budget: b, protocol, arms, backend } };
    })),
    text: (prep) => {
      const d = prep.probeData as { episodes: number; modeA: { rate: number }; modeB: { rate: number }; entropyNats: number };
      return {
        setting: 'a CPU-sized stand-in for the paper\'s benchmarks: a Rapier point-mass play task with three zones and a wall, residual-MLP backbone instead of the GPT; agreement is about the mechanism (few-step EDM sampling, CFG goal guidance, multimodality), not the paper\'s numbers.',
        metrics: { success: 'the goal zone reached (scene criterion)', anyTask: 'any zone reached', modeA: 'passed the wall on the left', modeB: 'passed on the right', nonFinite: 'episode cut short by a non-finite action (a failure)' },
        extra: [`Data modes on the probe's question (${d.episodes} play episodes whose first zone is the middle one): left ${(d.modeA.rate * 100).toFixed(1)}%, right ${(d.modeB.rate * 100).toFixed(1)}%, entropy ${d.entropyNats.toFixed(3)} nats (max ln 2 = 0.693).`],
      };
    },
  };
}

/** The study as `stride experiment beso-toy` sees it (cli/experiment.ts). */
export const experiment = {
  description: 'BESO toy study: few-step EDM sampling, CFG goal guidance and multimodality vs DDPM Diffusion Policy and BC (toy/zone_play)',
  scenes: [SCENE],
  async run(o: { quick: boolean; budget: string[]; outDir: string; cacheDir: string; backend: string; command: string; log: (l: string) => void; queue?: RunStudyOptions['queue'] }): Promise<Record<string, unknown>> {
    const b: BesoBudget = { ...(o.quick ? quickBudget() : fullBudget()), ...parseBudget(o.budget) };
    const cacheDir = path.join(o.cacheDir, 'beso-toy', o.quick ? 'quick' : 'full');
    return await runStudy(studyDef(b, o.backend), { mode: o.quick ? 'quick' : 'full', outDir: o.outDir, cacheDir, workers: b.workers, command: o.command, log: o.log, queue: o.queue }) as unknown as Record<string, unknown>;
  },
};
