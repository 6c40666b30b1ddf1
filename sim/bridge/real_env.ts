/**
 * RealEnv: the robot seen as an asynchronous Env, plus the control loop that drives it with a Policy.
 *
 * - Observations come in timestamped; the action computed from an observation targets the next control tick
 *   (`recvSec + ctrlDtSec`). An action whose target time has already passed when it is ready is stale and dropped
 *   (the robot keeps its previous command), as Diffusion Policy's real env does.
 * - Every command goes through the safety envelope (bounds + per-step rate limit; counted when it changes anything).
 * - Watchdog: no observation for more than `stallPeriods` control periods, a policy that throws or returns
 *   non-finite values, the e-stop topic, or a state outside the workspace ⇒ send the hold command and stop.
 * - Dry run: everything is computed and logged, nothing is published (not even the hold).
 */
import type { Policy } from '../core/policy.ts';
import { EstopError, StallError, monoSec, type EpisodeEnd, type Robot, type TimedObservation } from './robot.ts';
import type { SafetyEnvelope } from './safety.ts';
import { Percentiles, summarize, type LatencySummary } from './stats.ts';
import { OBS_STATE } from '../core/features.ts';
import type { LatencyProfile } from './latency.ts';

/** What the bridge needs of a policy: sim/core's Policy contract with `name` and `dispose` optional. */
export interface BridgePolicy extends Omit<Policy, 'name' | 'dispose'> {
  name?: string;
  dispose?(): void;
}

export type StopReason = 'stall' | 'estop' | 'policy-error' | 'policy-non-finite' | 'workspace' | 'robot-error';

/** Thrown out of RealEnv once the watchdog has stopped the robot. */
export class BridgeStopped extends Error {
  constructor(readonly reason: StopReason, detail: string) { super(`bridge stopped (${reason}): ${detail}`); }
}

export interface RealEnvOptions {
  /** Control period, seconds. */
  ctrlDtSec: number;
  envelope: SafetyEnvelope;
  /** Observation stall longer than this many control periods trips the watchdog. */
  stallPeriods?: number;
  /** Compute and log actions, publish nothing. */
  dryRun?: boolean;
  log?: (line: string) => void;
}

export interface RealEnvStats {
  steps: number;
  /** Commands the envelope changed. */
  clamped: number;
  clampedElements: number;
  /** Stale actions dropped. */
  dropped: number;
  watchdogTrips: number;
}

export class RealEnv {
  readonly stats: RealEnvStats = { steps: 0, clamped: 0, clampedElements: 0, dropped: 0, watchdogTrips: 0 };
  readonly ctrlDtSec: number;
  readonly stallPeriods: number;
  stopped: { reason: StopReason; detail: string } | null = null;
  /** Last command actually sent (policy space), the reference of the rate limit. */
  private prevCmd: Float32Array | null = null;
  private lastRecvSec = -Infinity;
  private readonly log: (line: string) => void;

  constructor(readonly robot: Robot, private readonly opts: RealEnvOptions) {
    if (!(opts.ctrlDtSec > 0)) throw new Error(`RealEnv: ctrlDtSec must be > 0, got ${opts.ctrlDtSec}`);
    this.ctrlDtSec = opts.ctrlDtSec;
    this.stallPeriods = opts.stallPeriods ?? 2;
    this.log = opts.log ?? (() => {});
  }

  get envelope(): SafetyEnvelope { return this.opts.envelope; }
  get dryRun(): boolean { return !!this.opts.dryRun; }

  /** Start an episode (robot reset with `seed` when the robot supports it) and return its first observation. */
  async reset(seed?: number): Promise<TimedObservation> {
    this.ensureRunning();
    if (seed !== undefined) {
      if (!this.robot.supportsEpisodes || !this.robot.resetEpisode) throw new Error('this robot does not support episode resets (no episode config)');
      await this.robot.resetEpisode(seed);
      this.prevCmd = null;
    }
    this.lastRecvSec = monoSec(); // the stall clock restarts with the episode
    return this.observe();
  }

  /** The next observation; trips the watchdog on stall, e-stop or a state outside the workspace. */
  async observe(): Promise<TimedObservation> {
    this.ensureRunning();
    const limit = this.stallPeriods * this.ctrlDtSec;
    const timeout = Math.max(0, limit - (monoSec() - this.lastRecvSec));
    let o: TimedObservation;
    try {
      o = await this.robot.getObservation(Number.isFinite(this.lastRecvSec) ? timeout : 5);
    } catch (e) {
      if (e instanceof StallError) return this.trip('stall', `no observation for ${((monoSec() - this.lastRecvSec) * 1000).toFixed(0)} ms (limit ${this.stallPeriods} periods = ${(limit * 1000).toFixed(0)} ms)`);
      if (e instanceof EstopError) return this.trip('estop', 'e-stop topic fired');
      return this.trip('robot-error', (e as Error).message);
    }
    this.lastRecvSec = o.recvSec;
    const s = o.obs[OBS_STATE];
    if (s) {
      const i = this.envelope.outsideWorkspace(s);
      if (i >= 0) return this.trip('workspace', `observation.state[${i}] = ${s[i]} is outside [${this.envelope.workspaceLow[i]}, ${this.envelope.workspaceHigh[i]}]`);
    }
    return o;
  }

  /**
   * Send `action` for the tick at `tTargetSec` (monoSec): checked (finite), dropped if stale, clamped, sent.
   * Returns what happened to it.
   */
  async act(action: Float32Array, tTargetSec: number): Promise<'sent' | 'dropped' | 'dry-run'> {
    this.ensureRunning();
    if (!(action instanceof Float32Array) || action.length !== this.envelope.actionSize) {
      return this.trip('policy-non-finite', `policy returned ${action?.length ?? 'no'} values, expected ${this.envelope.actionSize}`);
    }
    for (let i = 0; i < action.length; i++) {
      if (!Number.isFinite(action[i]!)) return this.trip('policy-non-finite', `action element ${i} is ${action[i]}`);
    }
    this.stats.steps++;
    if (monoSec() > tTargetSec) {
      this.stats.dropped++;
      return 'dropped';
    }
    const { cmd, clampedElements } = this.envelope.apply(action, this.prevCmd);
    if (clampedElements > 0) { this.stats.clamped++; this.stats.clampedElements += clampedElements; }
    this.prevCmd = cmd;
    if (this.opts.dryRun) {
      this.log(`dry-run: step ${this.stats.steps} command [${Array.from(cmd, (v) => v.toFixed(4)).join(', ')}]${clampedElements ? ` (clamped ${clampedElements})` : ''}`);
      return 'dry-run';
    }
    try {
      await this.robot.sendAction(cmd, tTargetSec);
    } catch (e) {
      return this.trip('robot-error', (e as Error).message);
    }
    return 'sent';
  }

  /** Hold and stop; always throws BridgeStopped. */
  async trip(reason: StopReason, detail: string): Promise<never> {
    if (!this.stopped) {
      this.stopped = { reason, detail };
      this.stats.watchdogTrips++;
      this.log(`watchdog: ${reason}: ${detail}; ${this.opts.dryRun ? 'dry-run, hold not published' : 'sending hold'}`);
      if (!this.opts.dryRun) {
        try { await this.robot.hold(); } catch (e) { this.log(`hold failed: ${(e as Error).message}`); }
      }
    }
    throw new BridgeStopped(this.stopped.reason, this.stopped.detail);
  }

  private ensureRunning(): void {
    if (this.stopped) throw new BridgeStopped(this.stopped.reason, this.stopped.detail);
  }
}

// --- the control loop ---

export interface BridgeRunOptions {
  /** Run this many robot episodes (needs episode support), seeds seed, seed+1, …; else run until a step/time limit. */
  episodes?: number;
  seed?: number;
  /** Stop after this many control steps in total. */
  maxSteps?: number;
  /** Stop after this many seconds. */
  seconds?: number;
  /** Called after each control step (tests, progress). */
  onStep?(step: number, o: TimedObservation): void;
  signal?: AbortSignal;
}

export interface BridgeReport {
  steps: number;
  clamped: number;
  dropped: number;
  watchdogTrips: number;
  /** Observation received → command published, on this side of the wire. */
  latencyMs: LatencySummary;
  clampedElements: number;
  /** Why the loop ended: 'done' (limits/episodes reached) or the watchdog's reason. */
  stopReason: StopReason | 'done' | 'aborted';
  stopDetail?: string;
  episodes: EpisodeEnd[];
  dryRun: boolean;
  /** Measured delays for `stride eval --latency-profile`. */
  profile: LatencyProfile;
}

export async function runBridge(env: RealEnv, policy: BridgePolicy, opts: BridgeRunOptions = {}): Promise<BridgeReport> {
  const lat = new Percentiles();
  const obsDelayMs: number[] = [];
  const computeMs: number[] = [];
  const episodes: EpisodeEnd[] = [];
  const t0 = monoSec();
  const maxSteps = opts.maxSteps ?? Infinity;
  const until = opts.seconds !== undefined ? t0 + opts.seconds : Infinity;
  const numEpisodes = opts.episodes ?? 1;
  const useEpisodes = opts.episodes !== undefined;
  let stopReason: BridgeReport['stopReason'] = 'done';
  let stopDetail: string | undefined;
  const timeOriginSec = performance.timeOrigin / 1000;
  try {
    outer: for (let ep = 0; ep < numEpisodes; ep++) {
      policy.reset();
      let o = await env.reset(useEpisodes ? (opts.seed ?? 0) + ep : undefined);
      for (;;) {
        if (o.episodeEnd) { episodes.push(o.episodeEnd); break; }
        if (env.stats.steps >= maxSteps || monoSec() >= until) break outer;
        if (opts.signal?.aborted) { stopReason = 'aborted'; break outer; }
        let a: Float32Array;
        try {
          a = await policy.act(o.obs);
        } catch (e) {
          await env.trip('policy-error', (e as Error).message);
          throw new Error('unreachable');
        }
        const r = await env.act(a, o.recvSec + env.ctrlDtSec);
        const done = monoSec();
        if (r !== 'dropped') lat.add((done - o.recvSec) * 1000);
        // The profile keeps dropped steps too: replaying it must reproduce their delays (and drops).
        computeMs.push((done - o.recvSec) * 1000);
        obsDelayMs.push(Number.isFinite(o.stampSec) ? Math.max(0, (timeOriginSec + o.recvSec - o.stampSec) * 1000) : 0);
        opts.onStep?.(env.stats.steps, o);
        o = await env.observe();
      }
    }
  } catch (e) {
    if (!(e instanceof BridgeStopped)) throw e;
    stopReason = e.reason;
    stopDetail = env.stopped?.detail;
  }
  const s = env.stats;
  return {
    steps: s.steps, clamped: s.clamped, dropped: s.dropped, watchdogTrips: s.watchdogTrips,
    latencyMs: lat.summary(), clampedElements: s.clampedElements, stopReason, stopDetail, episodes, dryRun: env.dryRun,
    profile: makeProfile(env.ctrlDtSec, obsDelayMs, computeMs),
  };
}

function makeProfile(ctrlDtSec: number, obsDelayMs: number[], computeMs: number[]): LatencyProfile {
  const r = (v: number) => Math.round(v * 1000) / 1000;
  // The command's trip back to the robot is not observable from here; assume it equals the observation's.
  const actionDelayMs = computeMs.map((c, i) => c + (obsDelayMs[i] ?? 0));
  return {
    kind: 'stride-latency-profile', version: 1, ctrlDtSec,
    obsDelayMs: obsDelayMs.map(r), actionDelayMs: actionDelayMs.map(r),
    summary: { obsDelayMs: summarize(obsDelayMs), computeMs: summarize(computeMs), actionDelayMs: summarize(actionDelayMs) },
  };
}
