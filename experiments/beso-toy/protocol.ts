/**
 * The toy BESO study's protocol table (results/beso-toy.*; the Block-Push study is experiments/beso/) (POLICIES.md §2.8), fixed before any result: splits, budgets, arms and claims.
 * λ* = 2 (the Block-Push config's guidance weight) for every sampler arm and every guidance claim; nothing here is
 * chosen after seeing held-out numbers.
 */
import { parseBudget as parseBudgetOver } from '../harness/protocol.ts';
import type { ArmSpec, ClaimSpec, Protocol } from '../harness/protocol.ts';

/** Guidance weight of the sampler arms and of the guidance claim (fixed a priori). */
export const LAMBDA_STAR = 2;

export interface BesoBudget {
  /** Play episodes of scripted data (train split seeds 0 … dataEpisodes − 1). */
  dataEpisodes: number;
  /** Optimisation steps per model, batch size, learning rate. */
  trainSteps: number; batchSize: number; lr: number;
  /** Residual MLP width/depth (same for every method). */
  width: number; depth: number;
  /** Training seeds (models per method). */
  seeds: number;
  /** Held-out episodes per arm per model seed. */
  evalEpisodes: number;
  /** Probe rollouts per method per model seed. */
  modeRollouts: number;
  /** Episode length limit of evaluation episodes (control steps). */
  evalMaxSteps: number;
  /** DDIM steps of the long Diffusion Policy arm (the other is 10). */
  dpLongSteps: number;
  /** Parallel worker threads (not part of the protocol: excluded from cache keys). */
  workers: number;
}

export const fullBudget = (): BesoBudget => ({ dataEpisodes: 400, trainSteps: 1500, batchSize: 256, lr: 1e-3, width: 64, depth: 3, seeds: 3, evalEpisodes: 100, modeRollouts: 100, evalMaxSteps: 80, dpLongSteps: 100, workers: 5 });
export const quickBudget = (): BesoBudget => ({ dataEpisodes: 40, trainSteps: 150, batchSize: 64, lr: 1e-3, width: 64, depth: 2, seeds: 2, evalEpisodes: 8, modeRollouts: 8, evalMaxSteps: 80, dpLongSteps: 100, workers: 2 });

/** `--budget key=value` overrides (the harness's parser over this study's budget keys). */
export const parseBudget = (pairs: string[]): Partial<BesoBudget> => parseBudgetOver(pairs, fullBudget());

const beso = (id: string, sampler: string, steps: number, guidance: number, extra: Partial<ArmSpec> = {}): ArmSpec => ({ id, method: 'beso', settings: { sampler, steps, guidance }, ...extra });

export function besoProtocol(b: BesoBudget): Protocol {
  const probe = { episodesPerSeed: b.modeRollouts, settings: { probe: true } };
  const arms: ArmSpec[] = [
    beso('beso/guard', 'ddim', 3, LAMBDA_STAR, { split: 'validation' }),
    ...[1, 2, 3, 5, 10, 30].map((n) => beso(`beso/ddim-${n}`, 'ddim', n, LAMBDA_STAR)),
    beso('beso/euler-3', 'euler', 3, LAMBDA_STAR), beso('beso/heun-3', 'heun', 3, LAMBDA_STAR),
    ...[0, 0.5, 1, 1.5, 3].map((l) => beso(`beso/lambda-${l}`, 'ddim', 3, l)),
    ...[10, b.dpLongSteps].map((n): ArmSpec => ({ id: `dp/ddim-${n}`, method: 'diffusion', settings: { inferSteps: n } })),
    { id: 'bc', method: 'bc', settings: {} },
    { ...beso('beso/probe', 'ddim', 3, LAMBDA_STAR), ...probe, settings: { sampler: 'ddim', steps: 3, guidance: LAMBDA_STAR, probe: true } },
    { id: 'dp/probe', method: 'diffusion', ...probe, settings: { inferSteps: 10, probe: true } },
    { id: 'bc/probe', method: 'bc', ...probe },
  ];
  const claims: ClaimSpec[] = [
    { id: 'three-steps-vs-thirty', statement: 'BESO with 3 DDIM steps is within 5 points of BESO with 30 steps (goal success).', paperValue: '3 steps ≈ 30+ steps', source: 'P',
      comparison: { kind: 'difference', a: 'beso/ddim-3', b: 'beso/ddim-30', metric: 'success', op: '>=', value: -0.05 } },
    { id: 'three-steps-vs-ddpm', statement: `BESO with 3 steps is at least as good as the DDPM ε-prediction Diffusion Policy at ${b.dpLongSteps} DDIM steps.`, paperValue: 'BESO (3 steps) ≥ diffusion baselines (30+ steps)', source: 'P',
      comparison: { kind: 'difference', a: 'beso/ddim-3', b: `dp/ddim-${b.dpLongSteps}`, metric: 'success', op: '>=', value: 0 } },
    { id: 'beso-both-modes', statement: 'On the fixed start+goal probe with two valid solutions, every BESO model produces both modes, each ≥ 25% of its rollouts.', paperValue: 'captures multimodality', source: 'P',
      comparison: { kind: 'modes', arm: 'beso/probe', modes: ['modeA', 'modeB'], expect: 'both', minShare: 0.25, models: 'all' } },
    { id: 'bc-averages-or-collapses', statement: 'Every goal-conditioned BC-MLP model averages the modes or collapses to one (rarer mode < 25%).', paperValue: 'BC averages/collapses', source: 'P',
      comparison: { kind: 'modes', arm: 'bc/probe', modes: ['modeA', 'modeB'], expect: 'collapse', minShare: 0.25, models: 'all' } },
    { id: 'guidance-raises-goal-success', statement: `Goal success at λ = ${LAMBDA_STAR} is above λ = 0, with the 95% interval above 0.`, paperValue: 'higher λ → more goal-directed, higher goal success', source: 'P',
      comparison: { kind: 'difference', a: 'beso/ddim-3', b: 'beso/lambda-0', metric: 'success', op: '>', value: 0, ciBeyond: true } },
    { id: 'play-policy-completes-tasks', statement: `At λ = 0 (goal-free play policy) tasks are still completed: any-task rate ≥ 80% of that at λ = ${LAMBDA_STAR}.`, paperValue: 'λ = 0: high reward (many tasks), low result (few requested ones)', source: 'P',
      comparison: { kind: 'ratio', a: 'beso/lambda-0', b: 'beso/ddim-3', metric: 'anyTask', op: '>=', value: 0.8 } },
  ];
  const { workers: _w, ...budget } = b;
  return {
    name: 'beso-toy', title: 'BESO on toy/zone_play (the toy study)',
    paper: 'Reuss et al., Goal-Conditioned Imitation Learning using Score-based Diffusion Policies (RSS 2023, arXiv 2304.02532)',
    splits: { train: { start: 0, count: b.dataEpisodes }, validation: { start: 500_000, count: 100_000 }, heldOut: { start: 1_000_000, count: 100_000 } },
    modelSeeds: Array.from({ length: b.seeds }, (_, i) => i), episodesPerSeed: b.evalEpisodes,
    arms, budget: budget as unknown as Record<string, number>, claims,
    floorGuard: { arm: 'beso/guard', metric: 'success', minRate: 0.1, split: 'validation' }, floorRate: 0.1, simplifications: [],
  };
}
