/**
 * The Env contract (Gymnasium's, with named fields) shared by the trainer, the viewer and the robot bridge.
 */
import type { Features, Observation } from './features.ts';
import type { Overlay, RenderFrame, RenderScene } from './render.ts';

export interface StepResult {
  obs: Observation;
  reward: number;
  /** The task ended (fell, crashed, succeeded): learners do not bootstrap past it. */
  terminated: boolean;
  /** The episode was cut (time limit, physics divergence): learners bootstrap. */
  truncated: boolean;
  /** 'reward/<term>' (scaled), 'success' (0/1), scene-specific figures. */
  metrics: Readonly<Record<string, number>>;
  /** 'reason' when the episode ended ('time-limit', 'physics-diverged', or the scene's terminal reason). */
  info: Readonly<Record<string, unknown>>;
}

export interface ResetOptions {
  seed: number;
  /** Per-episode scene options as dotted-path config overrides (e.g. { 'task.intent': 3 }). */
  options?: Record<string, unknown>;
}

export interface Env {
  readonly id: string;
  readonly observationFeatures: Features;
  readonly actionFeatures: Features;
  /** Control period: one `step()` advances this many seconds. */
  readonly ctrlDtSec: number;
  /** Physics period; `ctrlDtSec / simDtSec` substeps per `step()`. */
  readonly simDtSec: number;
  reset(opts: ResetOptions): { obs: Observation; info: Record<string, unknown> };
  step(action: Float32Array): StepResult;
  /** Whole state (physics world + scene state + RNG + step counter), bit-exact. */
  snapshot(): Uint8Array;
  restore(s: Uint8Array): void;
  renderScene(): RenderScene;
  renderFrame(): RenderFrame;
  dispose(): void;
}

/** A policy-like thing the scene ships: reads privileged state, writes demonstrations. */
export interface ExpertHandle {
  act(): Float32Array;
  /** Per-episode choices of the expert (e.g. which block, which zone), recorded in datasets. */
  labels(): Record<string, number | string>;
  /** Viewer-only shapes of the expert's plan (empty when the scene's expert draws none). */
  debugOverlays?(): Overlay[];
}
