/**
 * Latency in the loop: a latency profile measured by `stride bridge run` and an Env wrapper that replays it in
 * simulation (`stride eval --latency-profile FILE`).
 *
 * Model (matches the sim-robot and a zero-order-hold robot controller): the command computed from the observation of
 * step k reaches the robot after d = obsDelay + actionDelay, both drawn (seeded) from the measured samples. The robot
 * applies commands at control ticks, so the command is in effect from tick k + floor(d / ctrlDtSec); before that the
 * previous command is held (the hold action, zeros, at the start of an episode). With `dropStale` (the bridge's
 * behaviour) a command with floor(d / ctrlDtSec) ≥ 1 is dropped instead of applied late.
 * The policy always sees the newest observation (the bridge acts on each observation as it arrives).
 */
import { readFileSync } from 'node:fs';
import { writeAtomic } from '../data/atomic.ts';
import { Rng } from '../math/rng.ts';
import type { Env, ResetOptions, StepResult } from '../core/env.ts';
import type { Features, Observation } from '../core/features.ts';
import type { RenderFrame, RenderScene } from '../core/render.ts';
import type { SceneEnv } from '../core/scene_env.ts';
import type { LatencySummary } from './stats.ts';

export interface LatencyProfile {
  kind: 'stride-latency-profile';
  version: 1;
  /** Control period of the run the samples were measured in, seconds. */
  ctrlDtSec: number;
  /** Robot stamp → observation received by the bridge, ms (one sample per control step; 0 when the robot sends no stamp). */
  obsDelayMs: number[];
  /** Observation received → command at the robot, ms (bridge compute + an assumed return trip equal to obsDelay). */
  actionDelayMs: number[];
  summary?: Record<string, LatencySummary>;
}

/** Write a latency profile as one line of JSON, atomically. */
export function saveLatencyProfile(file: string, p: LatencyProfile): void {
  writeAtomic(file, `${JSON.stringify(p)}\n`);
}

export function loadLatencyProfile(file: string): LatencyProfile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`latency profile ${file}: cannot read (${(e as Error).message.split('\n')[0]})`);
  }
  const p = raw as Partial<LatencyProfile>;
  if (p?.kind !== 'stride-latency-profile') throw new Error(`latency profile ${file}: not a stride latency profile (kind '${String(p?.kind)}')`);
  for (const k of ['obsDelayMs', 'actionDelayMs'] as const) {
    const v = p[k];
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)) {
      throw new Error(`latency profile ${file}: '${k}' must be a non-empty array of non-negative numbers`);
    }
  }
  return p as LatencyProfile;
}

export interface LatencyEnvOptions {
  /** Seed of the delay draws (mixed with each episode's seed, so episodes differ but replay exactly). */
  seed?: number;
  /** Drop commands that would arrive after their tick (the bridge's behaviour); else apply them late. */
  dropStale?: boolean;
  /** Multiply every drawn delay (stress tests: 2 = twice the measured latency). */
  scale?: number;
}

/**
 * Env wrapper replaying a latency profile. Snapshots cover the inner env only (the pending-command queue and the
 * delay RNG are not part of them). Extra metrics per step: 'latency/delayMs', 'latency/dropped' (running count).
 */
export class LatencyEnv implements Env {
  readonly id: string;
  readonly observationFeatures: Features;
  readonly actionFeatures: Features;
  readonly ctrlDtSec: number;
  readonly simDtSec: number;
  private rng = new Rng(0);
  private applied: Float32Array;
  private pending: { due: number; action: Float32Array }[] = [];
  private k = 0;
  private dropped = 0;
  private readonly dropStale: boolean;
  private readonly scale: number;
  private readonly seed: number;

  constructor(readonly inner: Env, readonly profile: LatencyProfile, opts: LatencyEnvOptions = {}) {
    this.id = inner.id;
    this.observationFeatures = inner.observationFeatures;
    this.actionFeatures = inner.actionFeatures;
    this.ctrlDtSec = inner.ctrlDtSec;
    this.simDtSec = inner.simDtSec;
    this.dropStale = opts.dropStale ?? true;
    this.scale = opts.scale ?? 1;
    this.seed = opts.seed ?? 0;
    const a = Object.values(inner.actionFeatures)[0];
    this.applied = new Float32Array(a ? a.shape.reduce((x, y) => x * y, 1) : 0);
  }

  reset(opts: ResetOptions): { obs: Observation; info: Record<string, unknown> } {
    this.rng = new Rng(Math.imul(this.seed, 0x9e3779b1) ^ opts.seed ^ 0x1a7e);
    this.applied = new Float32Array(this.applied.length);
    this.pending = [];
    this.k = 0;
    this.dropped = 0;
    return this.inner.reset(opts);
  }

  /** One draw of the command delay, ms. */
  drawDelayMs(): number {
    const p = this.profile;
    return (p.obsDelayMs[this.rng.int(p.obsDelayMs.length)]! + p.actionDelayMs[this.rng.int(p.actionDelayMs.length)]!) * this.scale;
  }

  step(action: Float32Array): StepResult {
    const d = this.drawDelayMs();
    const lag = Math.floor(d / (this.ctrlDtSec * 1000));
    if (lag === 0) this.applied = action.slice();
    else if (this.dropStale) this.dropped++;
    else this.pending.push({ due: this.k + lag, action: action.slice() });
    if (this.pending.length) {
      const ready = this.pending.filter((p) => p.due <= this.k);
      if (ready.length) {
        this.applied = ready[ready.length - 1]!.action;
        this.pending = this.pending.filter((p) => p.due > this.k);
      }
    }
    this.k++;
    const r = this.inner.step(this.applied);
    return { ...r, metrics: { ...r.metrics, 'latency/delayMs': d, 'latency/dropped': this.dropped } };
  }

  snapshot(): Uint8Array { return this.inner.snapshot(); }
  restore(s: Uint8Array): void { this.inner.restore(s); }
  renderScene(): RenderScene { return this.inner.renderScene(); }
  renderFrame(): RenderFrame { return this.inner.renderFrame(); }
  dispose(): void { this.inner.dispose(); }
}

/**
 * A SceneEnv whose reset/step go through a LatencyEnv and everything else (stateHash, expert, config, …) through the
 * original — for tools typed on SceneEnv (evaluation, rollouts). The original stays owned by the caller.
 */
export function withLatency(env: SceneEnv, profile: LatencyProfile, opts: LatencyEnvOptions = {}): SceneEnv {
  const lat = new LatencyEnv(env, profile, opts);
  return new Proxy(env, {
    get(target, prop) {
      if (prop === 'reset') return lat.reset.bind(lat);
      if (prop === 'step') return lat.step.bind(lat);
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
