/**
 * Scripted-expert demonstrations → a dataset: the one recorder behind `stride demos` and every study's play data.
 *
 * Frame t of an episode is (the observation before action t, action t), for the observation keys asked for (default:
 * all of the scene's, in its feature order) plus `action`. The action stored is the action the env APPLIES: SceneEnv
 * clamps every element to the action feature's [low, high] before applying it (`checkAction` in sim/core/scene_env.ts),
 * and this recorder clamps the same way, so a dataset never holds an out-of-range action an expert may emit.
 * Each frame also gets its transition (`next.reward`: the reward of the step its action took; `next.done`: 1 when that
 * step ended the episode; with `finalFrame`, the extra last frame gets reward 0 and done 1 — its action is never taken).
 * Episode meta (meta/episodes.jsonl) carries the seed, the success flag (a predicate of the episode summary; default
 * `ep.success`) and the expert's labels. Written with `DatasetWriter`: the dataset appears at `out` only when
 * complete (and replaces an existing one only with `force`).
 *
 * Scenes must be registered by the caller (sim/ knows no scene: `await loadScenes()` from scenes/index.ts first).
 */
import { ACTION, featureSize, type FeatureArray, type Features } from '../core/features.ts';
import { makeEnv } from '../core/registry.ts';
import { runEpisode, type EpisodeSummary } from '../core/rollout.ts';
import type { SceneEnv } from '../core/scene_env.ts';
import { DatasetWriter, type DatasetInfo } from './dataset.ts';

/** Where the episodes come from: an env (not disposed here) or a scene id with config overrides (made and disposed here). */
export type DemoSource = SceneEnv | { sceneId: string; overrides?: Record<string, unknown> };

/** Options of `recordExpertEpisodes`. Give `seeds`, or `episodes` (+ `seed0`, default 0: episode i seeded seed0 + i). */
export interface RecordExpertOptions {
  /** Dataset folder to create. */
  out: string;
  /** Episode seeds, in order. */
  seeds?: readonly number[];
  /** Number of episodes (with `seed0`) when `seeds` is not given. */
  episodes?: number;
  /** Seed of episode 0 when `seeds` is not given (default 0). */
  seed0?: number;
  /** Observation keys to keep, in this order (default: every observation feature of the scene). */
  keys?: readonly string[];
  /** Replace an existing dataset at `out` (only once the new one is complete). */
  force?: boolean;
  /** The success flag recorded for an episode (default `ep.success`, the scene's success at any step). */
  success?(ep: EpisodeSummary): boolean;
  /**
   * Also record the final observation (after the last action) as a last frame, with the expert's action at it
   * (e.g. a Markovian expert's "hold" at the goal): a demonstration then ends *at* its goal, not one step before.
   */
  finalFrame?: boolean;
  /** Write only the episodes this accepts (default: every episode); the result's `episodes` still lists all of them. */
  keep?(ep: EpisodeSummary): boolean;
  /** Called once the dataset writer is open (the target was accepted), before the first episode. */
  onStart?(): void;
  /** Called after each recorded episode (progress bars, logs). */
  onEpisode?(ep: EpisodeSummary, i: number, progress: { frames: number; successes: number }): void;
}

/** What was recorded. */
export interface RecordExpertResult {
  /** The dataset's meta/info.json. */
  info: DatasetInfo;
  /** Every episode's summary, in order. */
  episodes: EpisodeSummary[];
  /** Episodes whose recorded success flag is true. */
  successes: number;
  /** The dataset's features (kept observation keys + action). */
  features: Features;
}

/**
 * The action as SceneEnv.step applies it: each element clamped to [low, high] of the action feature (missing bounds
 * are ±∞), with the env's comparison order (`v < low ? low : v > high ? high : v`) into a fresh Float32Array.
 * Throws on a wrong length or a non-finite element, as the env does.
 */
export function clampLikeEnv(action: Float32Array, actionFeatures: Features): Float32Array {
  const spec = actionFeatures[ACTION];
  if (!spec) throw new Error(`action features have no '${ACTION}'`);
  const size = featureSize(spec);
  if (action.length !== size) throw new Error(`expert action has ${action.length} elements, expected ${size}`);
  const lo = spec.low ?? -Infinity, hi = spec.high ?? Infinity;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const v = action[i]!;
    if (!Number.isFinite(v)) throw new Error(`expert action element ${i} is not finite (${v})`);
    out[i] = v < lo ? lo : v > hi ? hi : v;
  }
  return out;
}

function seedsOf(o: RecordExpertOptions): number[] {
  if (o.seeds) return [...o.seeds];
  const n = o.episodes ?? 0, seed0 = o.seed0 ?? 0;
  return Array.from({ length: n }, (_, i) => seed0 + i);
}

/**
 * Run the scene's scripted expert once per seed and write the episodes as a dataset at `out` (see the module
 * comment). Throws (leaving `out` untouched) when the scene has no expert, a key is not an observation feature, no
 * episode was asked for, or anything fails while recording.
 */
export function recordExpertEpisodes(source: DemoSource, o: RecordExpertOptions): RecordExpertResult {
  const own = 'sceneId' in source;
  const env: SceneEnv = 'sceneId' in source ? makeEnv(source.sceneId, source.overrides ?? {}) : source;
  try {
    if (!env.hasExpert) throw new Error(`scene ${env.id} has no scripted expert`);
    const seeds = seedsOf(o);
    if (seeds.length === 0) throw new Error('recordExpertEpisodes: no episodes to record');
    const obsKeys = o.keys ? [...o.keys] : Object.keys(env.observationFeatures);
    for (const k of obsKeys) if (!(k in env.observationFeatures)) throw new Error(`scene ${env.id} has no observation feature '${k}' (has ${Object.keys(env.observationFeatures).join(', ')})`);
    const features: Features = { ...Object.fromEntries(obsKeys.map((k) => [k, env.observationFeatures[k]!])), ...env.actionFeatures };
    const keys = Object.keys(features);
    const isSuccess = o.success ?? ((ep: EpisodeSummary) => ep.success);
    const writer = new DatasetWriter(o.out, { sceneId: env.id, fps: 1 / env.ctrlDtSec, features, force: !!o.force, transitions: true });
    try {
      o.onStart?.();
      const episodes: EpisodeSummary[] = [];
      let successes = 0;
      for (let i = 0; i < seeds.length; i++) {
        const seed = seeds[i]!;
        const frames: Record<string, FeatureArray[]> = Object.fromEntries(keys.map((k) => [k, []]));
        let expert: ReturnType<SceneEnv['expert']> | null = null;
        let lastObs: Record<string, FeatureArray> | null = null;
        const reward: number[] = [], done: number[] = [];
        const ep = runEpisode(env, seed, (e) => {
          const x = e.expert();
          expert = x;
          return (obs) => {
            for (const k of obsKeys) frames[k]!.push(obs[k]!.slice());
            const a = x.act();
            frames[ACTION]!.push(clampLikeEnv(a, env.actionFeatures));
            return a;
          };
        }, { onStep: (_t, _a, r) => { reward.push(r.reward); done.push(r.terminated || r.truncated ? 1 : 0); if (o.finalFrame) lastObs = r.obs as Record<string, FeatureArray>; } });
        if (o.finalFrame && lastObs) {
          const fin = lastObs as Record<string, FeatureArray>;
          for (const k of obsKeys) frames[k]!.push(fin[k]!.slice());
          frames[ACTION]!.push(clampLikeEnv((expert as unknown as ReturnType<SceneEnv['expert']>).act(), env.actionFeatures));
          // The final frame's action is never taken: no reward, and the episode is over.
          reward.push(0); done.push(1);
        }
        const labels = (expert as ReturnType<SceneEnv['expert']> | null)?.labels() ?? {};
        const success = isSuccess(ep);
        episodes.push(ep);
        if (!o.keep || o.keep(ep)) {
          writer.addEpisode({ seed, success, labels, reward, done }, frames);
          if (success) successes++;
        }
        o.onEpisode?.(ep, i, { frames: writer.frameCount, successes });
      }
      return { info: writer.finish(), episodes, successes, features };
    } catch (e) {
      writer.abort();
      throw e;
    }
  } finally {
    if (own) env.dispose();
  }
}
