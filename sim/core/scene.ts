/**
 * What a scene author writes. A SceneDef is a set of pure-ish functions over a Rapier world and a scene state `H`;
 * `SceneEnv` (scene_env.ts) turns it into an `Env`.
 *
 * Rules for `H` (the scene state):
 * - It is plain data: numbers, strings, booleans, arrays, typed arrays, nested objects. Store Rapier *handles*
 *   (numbers), never Rapier objects: `restore()` builds a new World and the old objects die with the old one.
 * - Keys starting with `$` hold runtime-only objects (e.g. a vehicle controller). They are not snapshotted;
 *   `rebind(world, h)` recreates them after a restore.
 * - Everything that influences the future (previous action, goal, traffic state, expert phase) lives in `H`,
 *   so a snapshot is the whole state.
 */
import type { Rng } from '../math/rng.ts';
import type { World } from '../physics/index.ts';
import type { Ranges } from './config.ts';
import type { Features, Observation } from './features.ts';
import type { ColliderStyle, Overlay } from './render.ts';

/** Ranges of the fields every scene config has. */
export const BASE_CONFIG_RANGES: Ranges = {
  ctrlDtSec: { min: 1e-4, max: 10 },
  simDtSec: { min: 1e-5, max: 1 },
  maxSteps: { min: 1, max: 1_000_000, int: true },
};

/** Fields every scene config has. */
export interface SceneConfigBase {
  /** Control period in seconds; the policy acts once per ctrlDtSec. */
  ctrlDtSec: number;
  /** Physics period in seconds; ctrlDtSec / simDtSec substeps per env step (must divide evenly). */
  simDtSec: number;
  /** Episode length limit in control steps (then `truncated`). */
  maxSteps: number;
  /** End the episode (`terminated`) as soon as the task succeeds. */
  terminateOnSuccess: boolean;
  /** Reward = Σ term × scale over the terms `rewardTerms` returns; a term without a scale is an error. */
  reward: { scales: Record<string, number> };
}

export type SceneFamily = 'toy' | 'humanoid' | 'manipulation' | 'driving' | 'robot';

export interface SceneDef<C extends SceneConfigBase = SceneConfigBase, H = unknown> {
  id: string;
  family: SceneFamily;
  /** One line for `stride scenes`. */
  description: string;
  defaultConfig(): C;
  /**
   * Ranges of numeric config fields beyond the base ones (BASE_CONFIG_RANGES); every other numeric field gets
   * `derivedRange` of its default (sim/core/config.ts). Checked when the env is made, before anything is built.
   */
  configRanges?: Ranges;
  features(cfg: C): { observation: Features; action: Features };
  /** Create every body in a fixed order and randomise the initial state from `rng`. */
  build(world: World, cfg: C, rng: Rng): H;
  /** Called once per control step with the validated, clamped action. */
  applyAction(world: World, h: H, action: Float32Array, cfg: C): void;
  /** Called before each physics substep (e.g. a vehicle controller or scripted traffic). */
  beforeSubstep?(world: World, h: H, cfg: C, substep: number): void;
  /** Called once per control step after the substeps (JS-side state updates, perturbations). */
  afterStep?(world: World, h: H, cfg: C, rng: Rng): void;
  observe(world: World, h: H, cfg: C, rng: Rng): Observation;
  /** Unscaled reward terms; `cfg.reward.scales` weighs them. */
  rewardTerms(world: World, h: H, action: Float32Array, cfg: C): Record<string, number>;
  isSuccess(world: World, h: H, cfg: C): boolean;
  /** A reason string when the episode must end (fell, crashed), else null. */
  terminalReason(world: World, h: H, cfg: C): string | null;
  /** Extra per-step metrics (added to StepResult.metrics). `done` is true on the last step of an episode. */
  metrics?(world: World, h: H, cfg: C, done: boolean): Record<string, number>;
  /** Recreate `$`-prefixed runtime objects after `restore()`. */
  rebind?(world: World, h: H, cfg: C): void;
  /** Names/colours per collider handle, overlays and HUD entries for the viewer. */
  render?(world: World, h: H, cfg: C): { overlays?: Overlay[]; hud?: Record<string, number | string | boolean> };
  style?(h: H, colliderHandle: number): ColliderStyle | undefined;
  /** The scripted expert (may read privileged state). */
  expert?(cfg: C): ScriptedExpert<C, H>;
  /**
   * Optional extra figures for `stride bench sim` (e.g. { depthMsPerFrame }), measured on the live world after the
   * benchmark's env steps. Must not change the simulation state.
   */
  bench?(world: World, h: H, cfg: C): Record<string, number>;
  /**
   * Config paths (`--set` form, e.g. 'shift.occlusion') a running episode may change without a rebuild: they are only
   * read per step. The viewer's live commands apply these in place; any other path restarts the episode on its seed.
   */
  liveConfig?: readonly string[];
  /**
   * User steering (the viewer's draggable goal marker): the world-frame target the scene's task currently aims at,
   * metres, or null when the scene has none. Pairs with `steer`.
   */
  steerTarget?(world: World, h: H, cfg: C): [number, number, number] | null;
  /** Move the task's target to a world-frame point (metres), mid-episode; the observation follows from the next step. */
  steer?(world: World, h: H, cfg: C, targetM: [number, number, number]): void;
}

export interface ScriptedExpert<C extends SceneConfigBase = SceneConfigBase, H = unknown> {
  /** Called after each reset with a seeded RNG for the expert's own choices. */
  reset(world: World, h: H, cfg: C, rng: Rng): void;
  act(world: World, h: H, cfg: C): Float32Array;
  labels?(): Record<string, number | string>;
  /** Viewer-only shapes of the expert's plan (drawn when the viewer's policy overlays are on). */
  debugOverlays?(world: World, h: H, cfg: C): Overlay[];
}

/** Helper so scene files get type inference: `export default defineScene({...})`. */
export function defineScene<C extends SceneConfigBase, H>(def: SceneDef<C, H>): SceneDef<C, H> {
  return def;
}
