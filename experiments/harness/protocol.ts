/**
 * A study's protocol: everything that decides a claim, typed and fixed before any result exists.
 *
 * - Seed splits: `train` (demonstration/data episodes), `validation` (every choice made from data: a peak update, a
 *   guidance weight, the floor guard) and `heldOut` (the claims) are disjoint ranges of scene seeds — asserted here,
 *   recorded in the results.
 * - Starts: model seed j (the j-th training seed) is evaluated on its own block of starts of a split; within that
 *   block every arm sees the same starts (paired), so intervals can cluster by model seed.
 * - Claims name their exact comparison (which arms, which metric, which λ/K/update); nothing is picked after seeing
 *   held-out numbers. The floor guard names the arm, metric, threshold and split the base method must pass first;
 *   `simplifications` records each task change made after a failed guard, with the guard's numbers.
 */

/** A range of scene seeds: start, start + 1, …, start + count − 1. */
export interface SeedRange { start: number; count: number }

/** Disjoint seed ranges of a study. */
export interface SeedSplits {
  /** Data episodes (demonstrations, play data). */
  train: SeedRange;
  /** Choices made from data (selection, the floor guard). */
  validation: SeedRange;
  /** Evaluation of the claims. */
  heldOut: SeedRange;
}

export type SplitName = keyof SeedSplits;

/** One arm: a method evaluated with fixed settings (sampler, steps, guidance, …) on one split. */
export interface ArmSpec {
  /** Unique name, e.g. 'beso/ddim-3'. */
  id: string;
  /** Method whose models this arm evaluates (one model per training seed). */
  method: string;
  /** Evaluation settings, JSON (act options, scene overrides: the study defines the keys). */
  settings: Record<string, unknown>;
  /** Split of its starts (default heldOut). */
  split?: SplitName;
  /** Episodes per model seed (default the protocol's `episodesPerSeed`). */
  episodesPerSeed?: number;
}

export type Op = '>=' | '>' | '<=' | '<';

/** How a claim is decided. Rates are per-episode 0/1 outcomes named by `metric`. */
export type Comparison =
  /** rate(arm) op value. */
  | { kind: 'rate'; arm: string; metric: string; op: Op; value: number }
  /** rate(a) − rate(b) op value (Newcombe interval); `ciBeyond`: the interval's near bound must pass too. */
  | { kind: 'difference'; a: string; b: string; metric: string; op: Op; value: number; ciBeyond?: boolean }
  /**
   * mean over the pairs of rate(a) − rate(b) op value (e.g. a gap averaged over data sizes). Interval: Newcombe's
   * per pair, combined by MOVER (Zou & Donner 2008) for the mean, plus the paired cluster bootstrap of the mean.
   */
  | { kind: 'meanDifference'; pairs: [string, string][]; metric: string; op: Op; value: number; ciBeyond?: boolean }
  /** median over every episode of `arm` of a numeric per-episode outcome op value (cluster-bootstrap interval); never at the floor. */
  | { kind: 'median'; arm: string; metric: string; op: Op; value: number }
  /** rate(a) / rate(b) op value (paired cluster-bootstrap interval: seeds, then starts). */
  | { kind: 'ratio'; a: string; b: string; metric: string; op: Op; value: number }
  /**
   * A per-model property, judged on each model (training seed) alone, then summarised: `both` = the model's rarer of
   * the two modes is ≥ minShare of its rollouts that chose a mode (a model choosing a mode in fewer than the floor
   * rate of its rollouts is undecided); `collapse` = its rarer mode is < minShare, or it rarely chooses either (it
   * averages them). Met when `models` ('all' or 'majority') of the models have the property.
   */
  | { kind: 'modes'; arm: string; modes: [string, string]; expect: 'both' | 'collapse'; minShare: number; models: 'all' | 'majority' }
  /**
   * Composites, decided in three-valued logic: `all` is met when every part is met, not met when any part is not met,
   * else not decided; `any` is met when some part is met, not met when every part is not met, else not decided.
   */
  | { kind: 'all'; of: Comparison[] }
  | { kind: 'any'; of: Comparison[] };

export interface ClaimSpec {
  id: string;
  statement: string;
  /** What the paper reports. */
  paperValue: string;
  /** P = from the paper; R = reconstructed (our design choice). */
  source: 'P' | 'R';
  comparison: Comparison;
}

/**
 * The base method must learn the task in its easiest setting before any claim counts. `alsoArms`: the check passes
 * when `arm` or any of these reaches minRate (e.g. "some method learns the task"). `and`: further checks that must
 * pass too (e.g. a study's premise: a second arm's rate); the guard passes when every check does.
 */
export interface FloorGuardSpec { arm: string; alsoArms?: string[]; metric: string; minRate: number; split: SplitName; and?: Omit<FloorGuardSpec, 'and'>[] }

/** A task change made after a failed floor guard (never a change of the evaluation). */
export interface Simplification { what: string; why: string; guardBefore: { rate: number; n: number } }

export interface Protocol {
  /** results/<name>.{json,md}. */
  name: string;
  title: string;
  paper: string;
  splits: SeedSplits;
  /** Model (weight-init) seeds: one model per method per seed. */
  modelSeeds: number[];
  /** Default evaluation episodes per arm per model seed. */
  episodesPerSeed: number;
  arms: ArmSpec[];
  /** Training and evaluation budgets (the study defines the keys; all of it is part of the cache key). */
  budget: Record<string, number>;
  claims: ClaimSpec[];
  floorGuard: FloorGuardSpec;
  /** Comparisons whose sides are all below this rate are not decided (`met: null`). */
  floorRate: number;
  simplifications: Simplification[];
}

/** Refuse a protocol that could not decide its claims honestly: overlapping splits, unknown arms, too few starts. */
export function validateProtocol(p: Protocol): void {
  const err = (m: string) => { throw new Error(`protocol ${p.name}: ${m}`); };
  const names = Object.keys(p.splits) as SplitName[];
  for (const n of names) {
    const r = p.splits[n];
    if (!(Number.isInteger(r.start) && Number.isInteger(r.count) && r.count > 0 && r.start >= 0)) err(`split ${n} must be a non-empty range of non-negative integer seeds`);
  }
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const a = p.splits[names[i]!], b = p.splits[names[j]!];
      if (a.start < b.start + b.count && b.start < a.start + a.count) err(`seed splits ${names[i]} [${a.start}, ${a.start + a.count}) and ${names[j]} [${b.start}, ${b.start + b.count}) overlap`);
    }
  }
  if (!p.modelSeeds.length || new Set(p.modelSeeds).size !== p.modelSeeds.length) err('modelSeeds must be distinct and non-empty');
  const arms = new Set<string>();
  for (const a of p.arms) {
    if (arms.has(a.id)) err(`arm ${a.id} listed twice`);
    arms.add(a.id);
    const split = a.split ?? 'heldOut', per = a.episodesPerSeed ?? p.episodesPerSeed;
    if (per * p.modelSeeds.length > p.splits[split].count) err(`arm ${a.id} needs ${per} × ${p.modelSeeds.length} starts but split ${split} has ${p.splits[split].count}`);
  }
  const known = (id: string, where: string) => { if (!arms.has(id)) err(`${where} names unknown arm '${id}'`); };
  const ids = new Set<string>();
  for (const c of p.claims) {
    if (ids.has(c.id)) err(`claim ${c.id} listed twice`);
    ids.add(c.id);
    const check = (k: Comparison): void => {
      if (k.kind === 'all' || k.kind === 'any') { if (!k.of.length) err(`claim ${c.id}: an '${k.kind}' needs parts`); k.of.forEach(check); } else if (k.kind === 'difference' || k.kind === 'ratio') { known(k.a, `claim ${c.id}`); known(k.b, `claim ${c.id}`); } else if (k.kind === 'meanDifference') {
        if (!k.pairs.length) err(`claim ${c.id}: meanDifference needs at least one pair`);
        for (const [a, b] of k.pairs) { known(a, `claim ${c.id}`); known(b, `claim ${c.id}`); }
      } else known(k.arm, `claim ${c.id}`);
    };
    check(c.comparison);
  }
  for (const g of [p.floorGuard, ...(p.floorGuard.and ?? [])]) for (const a of [g.arm, ...(g.alsoArms ?? [])]) known(a, 'the floor guard');
  if (!(p.floorRate >= 0 && p.floorRate < 1)) err('floorRate must be in [0, 1)');
}

/**
 * The starts of model seed number `seedIndex` on `split`: its own block of `n` consecutive seeds. Every arm of that
 * model uses the same block (paired); different model seeds never share a start.
 */
export function startsFor(p: Protocol, split: SplitName, seedIndex: number, n: number): number[] {
  const r = p.splits[split];
  if ((seedIndex + 1) * n > r.count) throw new Error(`protocol ${p.name}: split ${split} has ${r.count} seeds, model seed #${seedIndex} needs [${seedIndex * n}, ${(seedIndex + 1) * n})`);
  return Array.from({ length: n }, (_, i) => r.start + seedIndex * n + i);
}

/** The seeds of the data episodes (the train split, in order). */
export function trainSeeds(p: Protocol, n = p.splits.train.count): number[] {
  if (n > p.splits.train.count) throw new Error(`protocol ${p.name}: ${n} data episodes, the train split has ${p.splits.train.count} seeds`);
  return Array.from({ length: n }, (_, i) => p.splits.train.start + i);
}

/**
 * A study's `--budget key=value` overrides over its `defaults`: known keys only, finite numbers, > 0 unless
 * `zeroOk(key)` (then ≥ 0). One line names the bad pair.
 */
export function parseBudget<B extends object>(pairs: readonly string[], defaults: B, zeroOk: (key: string) => boolean = () => false): Partial<B> {
  const keys = Object.keys(defaults), out: Record<string, number> = {};
  for (const p of pairs) {
    const m = /^([A-Za-z0-9]+)=(.+)$/.exec(p);
    if (!m || !keys.includes(m[1]!)) throw new Error(`--budget ${p}: expected key=value with key one of ${keys.join(', ')}`);
    const v = Number(m[2]);
    if (!Number.isFinite(v) || v < 0 || (v === 0 && !zeroOk(m[1]!))) throw new Error(`--budget ${p}: value must be a ${zeroOk(m[1]!) ? 'non-negative' : 'positive'} number`);
    out[m[1]!] = v;
  }
  return out as Partial<B>;
}
