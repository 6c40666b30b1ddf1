/**
 * The Robot contract (DESIGN.md §2): a robot is an asynchronous Env — timestamped observations in, timestamped
 * actions out. Times are seconds on the local monotonic clock (`monoSec()`), except `stampSec`, the robot's own stamp.
 */
import type { Features, Observation } from '../core/features.ts';

/** Local monotonic clock, seconds (performance.now based). */
export function monoSec(): number {
  return performance.now() / 1000;
}

export interface EpisodeEnd {
  seed: number;
  steps: number;
  success: boolean;
  return: number;
  reason: string | null;
}

export interface TimedObservation {
  obs: Observation;
  /** The robot's time stamp of the observation (header stamp; epoch seconds), or NaN when it has none. */
  stampSec: number;
  /** When it arrived here (monoSec). */
  recvSec: number;
  /** Increases by one per delivered observation. */
  seq: number;
  /** Set when the robot reported the end of an episode just before this (final) observation. */
  episodeEnd?: EpisodeEnd;
}

/** The observation stream stalled past the watchdog limit. */
export class StallError extends Error {
  constructor(readonly waitedSec: number) { super(`observation stream stalled for ${(waitedSec * 1000).toFixed(0)} ms`); }
}

/** The e-stop topic fired. */
export class EstopError extends Error {
  constructor() { super('e-stop received'); }
}

export interface Robot {
  /** Features this robot provides / accepts (for validation against a policy). */
  readonly observationFeatures: Features;
  readonly actionFeatures: Features;
  connect(signal?: AbortSignal): Promise<void>;
  /** The next observation newer than the last one returned; rejects with StallError after `timeoutSec`, EstopError on e-stop. */
  getObservation(timeoutSec?: number): Promise<TimedObservation>;
  /** Send a command meant to take effect at `tTargetSec` (monoSec); the caller has already dropped stale ones. */
  sendAction(a: Float32Array, tTargetSec: number): Promise<void>;
  /** Send the hold command. */
  hold(): Promise<void>;
  disconnect(): Promise<void>;
  /** Start a new episode with this seed, when the robot supports it (the sim-robot does). */
  resetEpisode?(seed: number): Promise<void>;
  readonly supportsEpisodes: boolean;
}
