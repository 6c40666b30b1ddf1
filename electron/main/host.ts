/**
 * The viewer's sim host: everything the UI asks for that needs Node (recordings, the live simulation, forks, run
 * metrics, results). The Electron main process and the `--web` server both wrap one ViewerHost; payloads reach
 * `handle()` only after `validateRequest` (electron/shared/ipc.ts) accepted them.
 *
 * The live simulation runs here, off the UI thread: one control step per tick at the scene's control rate (× speed),
 * each step's RenderFrame pushed as a 'live:frame' event stamped with the wall-clock time it was produced.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { makeEnv, listScenes, type SceneEnv, type EpisodeHooks, type Observation } from '../../sim/core/index.ts';
import { OBS_DEPTH, OBS_GOAL, OBS_TACTILE, featureSize } from '../../sim/core/features.ts';
import { applyOverrides, parseOverrides } from '../../sim/core/config.ts';
import type { Overlay } from '../../sim/core/render.ts';
import type { StepResult } from '../../sim/core/env.ts';
import { EpisodeTally, type EpisodeSummary } from '../../sim/core/rollout.ts';
import { builtinPolicy, BUILTIN_POLICIES, type ActOptions } from '../../sim/core/policy.ts';
import type { ActReport, Channel, EpisodeData, SensorInset, EventName, Events, ForkResult, RecordingInfo, RecordingStep, Req, Responses, SceneInfo } from '../shared/ipc.ts';
import { readRecording, type Recording } from '../../sim/data/replay.ts';
import { EpisodeRecorder } from '../../sim/data/recorder.ts';

// --- recordings (sim/data) -----------------------------------------------------------------------------------------

export async function loadRecording(file: string): Promise<Recording> {
  return readRecording(file);
}

// --- policies -------------------------------------------------------------------------------------------------------

type ActOpts = ActOptions;
/** A policy bound to the live env: act with this step's options; its viewer overlays (Policy.debugOverlays). */
interface BoundPolicy { act(obs: Observation, opts: ActOpts): Promise<Float32Array>; debugOverlays(): Overlay[]; dispose(): void }

interface LoadedPolicy { act(obs: Observation, opts?: ActOpts): Promise<Float32Array>; reset(): void; dispose(): void; debugOverlays?(): Overlay[] }

/** Bind a policy spec ('expert' | 'random' | 'zero' | run/checkpoint dir) to an env that has just been reset/restored. */
async function bindPolicy(spec: string, env: SceneEnv): Promise<BoundPolicy> {
  if ((BUILTIN_POLICIES as readonly string[]).includes(spec)) {
    const src = builtinPolicy(spec)(env);
    let t = 0;
    // The scripted expert may draw its plan (ScriptedExpert.debugOverlays); random/zero draw nothing.
    const overlays = spec === 'expert' ? () => env.expert().debugOverlays?.() ?? [] : () => [];
    return { act: async (obs) => src(obs, t++), debugOverlays: overlays, dispose() {} };
  }
  if (!existsSync(spec)) throw new Error(`unknown policy '${spec}' (built-in: ${BUILTIN_POLICIES.join(', ')}, or a run/checkpoint directory)`);
  // Trained policies (policy core): TensorFlow.js backend first, then the checkpoint.
  const { initBackend } = await import('../../policies/common/backend.ts');
  await initBackend();
  const { loadPolicy } = await import('../../policies/train/load.ts');
  const p: LoadedPolicy = loadPolicy(spec);
  p.reset();
  return { act: (obs, opts) => p.act(obs, opts), debugOverlays: () => p.debugOverlays?.() ?? [], dispose: () => p.dispose() };
}

/** The JSON form of act options (what the host reports back to the page). */
export function actReport(o: ActOpts): ActReport {
  const r: ActReport = {};
  if (o.goal) r.goal = Array.from(o.goal, (v) => Math.round(v * 1e6) / 1e6);
  if (o.intent !== undefined) r.intent = o.intent;
  if (o.guidance !== undefined) r.guidance = o.guidance;
  if (o.steps !== undefined) r.steps = o.steps;
  return r;
}

/** Act options from their wire form. */
function actFrom(a: { goal?: number[]; intent?: number; guidance?: number; steps?: number } | undefined): ActOpts {
  if (!a) return {};
  const o: ActOpts = {};
  if (a.goal) o.goal = Float32Array.from(a.goal);
  if (a.intent !== undefined) o.intent = a.intent;
  if (a.guidance !== undefined) o.guidance = a.guidance;
  if (a.steps !== undefined) o.steps = a.steps;
  return o;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** `--set` pairs → overrides, refusing prototype keys (the scene's config then checks paths and types). */
export function liveOverrides(set: readonly string[] | undefined): Record<string, unknown> {
  const o = parseOverrides(set ?? []);
  for (const k of Object.keys(o)) if (k.split('.').some((seg) => FORBIDDEN_KEYS.has(seg))) throw new Error(`config: option '${k}' is not allowed`);
  return o;
}

/** The effective values of override paths in the env's current config (parsed and typed, not the raw strings). */
function effective(env: SceneEnv, keys: Iterable<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    let node: unknown = env.config;
    for (const seg of k.split('.')) node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[seg] : undefined;
    out[k] = node;
  }
  return out;
}

/** The scene's shift knobs (manipulation's `shift.*`) with their current values, for the page's toggles. */
function shiftsOf(env: SceneEnv): Record<string, number> {
  const sh = (env.config as unknown as { shift?: Record<string, unknown> }).shift;
  const out: Record<string, number> = {};
  if (sh && typeof sh === 'object') for (const [k, v] of Object.entries(sh)) if (typeof v === 'number') out[`shift.${k}`] = v;
  return out;
}

/** Depth and tactile readings of an observation for the page's insets. */
function sensorInset(env: SceneEnv, obs: Observation): SensorInset {
  const df = env.observationFeatures[OBS_DEPTH], tf = env.observationFeatures[OBS_TACTILE];
  let depth: SensorInset['depth'] = null, tactile: SensorInset['tactile'] = null;
  const d = obs[OBS_DEPTH];
  if (df && d && df.shape.length === 2) {
    const max = df.high ?? Math.max(1e-6, ...Array.from(d));
    const grey = Array.from(d, (v) => Math.max(0, Math.min(255, Math.round((v / max) * 255))));
    depth = { heightPx: df.shape[0]!, widthPx: df.shape[1]!, maxRangeM: max, grey, blank: d.every((v) => v === 0) };
  }
  const t = obs[OBS_TACTILE];
  if (tf && t) tactile = { names: [...(tf.names ?? Array.from(t, (_, i) => `pad${i}`))], valuesN: Array.from(t, (v) => Math.round(v * 1000) / 1000) };
  return { depth, tactile };
}

/**
 * The act-option goal for a target dragged to `t` (world metres), in the layout of the scene's goal feature: [x, z]
 * for a 2-number goal, [x, y, z] for a 3-number goal or none. A richer goal feature (humanoid/hoi's 25 numbers, in the
 * root's frame) gets null: the scene rewrites its observed goal from the steered target, and the policy reads that.
 */
function goalFromTarget(env: SceneEnv, t: [number, number, number]): Float32Array | null {
  const g = env.observationFeatures[OBS_GOAL];
  const n = g ? featureSize(g) : 3;
  return n === 2 ? Float32Array.of(t[0], t[2]) : n === 3 ? Float32Array.of(t[0], t[1], t[2]) : null;
}

/** What the page can switch on a live session; shared by the session and its restarts (resets keep them). */
interface LiveControls { act: ActOpts; overlays: boolean; sensors: boolean }

export function listPolicies(cwd: string): string[] {
  const out: string[] = [...BUILTIN_POLICIES];
  const runs = join(cwd, 'runs');
  if (existsSync(runs)) {
    for (const name of readdirSync(runs).sort()) {
      const d = join(runs, name);
      if (existsSync(join(d, 'checkpoints')) || existsSync(join(d, 'latest'))) out.push(join('runs', name));
      // one level deeper (runs/<group>/<run>)
      else if (statSync(d).isDirectory()) {
        for (const sub of readdirSync(d).sort()) {
          const dd = join(d, sub);
          if (existsSync(join(dd, 'checkpoints')) || existsSync(join(dd, 'latest'))) out.push(join('runs', name, sub));
        }
      }
    }
  }
  return out;
}

/** Run directories (runs/<name>, runs/<group>/<name>) that have a metrics.jsonl. */
export function listRuns(cwd: string): string[] {
  const out: string[] = [];
  const runs = join(cwd, 'runs');
  if (!existsSync(runs)) return out;
  for (const name of readdirSync(runs).sort()) {
    const d = join(runs, name);
    if (!statSync(d).isDirectory()) continue;
    if (existsSync(join(d, 'metrics.jsonl'))) { out.push(join('runs', name)); continue; }
    for (const sub of readdirSync(d).sort()) if (existsSync(join(d, sub, 'metrics.jsonl'))) out.push(join('runs', name, sub));
  }
  return out;
}

export function sceneInfos(): SceneInfo[] {
  return listScenes().map((s) => ({ id: s.id, family: s.family, description: s.description, hasExpert: !!s.expert, ctrlDtSec: s.defaultConfig().ctrlDtSec }));
}

// --- live session ----------------------------------------------------------------------------------------------------

interface SessionInit {
  env: SceneEnv;
  policy: string;
  seed: number;
  speed: number;
  /** Act options and toggles; the page changes them through 'live:command'. */
  controls: LiveControls;
  /** Scene overrides the env was made with (`live:start`'s `set`). */
  overrides: Record<string, unknown>;
  obs: Observation;
  branchOf?: { file: string; episode: number; step: number };
  /** Reset options of the episode (recorded with the branch). */
  options?: Record<string, unknown>;
  recorder?: EpisodeRecorder;
  recordFile?: string;
}

class LiveSession {
  private timer: NodeJS.Timeout | null = null;
  private paused = false;
  private stopped = false;
  private seq = 0;
  /** The shared episode bookkeeping (sim/core/rollout.ts): recordings get the same summary and metrics as the CLI's. */
  private tally = new EpisodeTally();
  private policy: BoundPolicy | null = null;
  private ids: number[] = [];
  private hooks: EpisodeHooks = {};
  private busy = false;

  constructor(private s: SessionInit, private emit: <E extends EventName>(e: E, d: Events[E]) => void) {}

  get env(): SceneEnv { return this.s.env; }

  /** Bind the policy, announce the scene and its first frame, start ticking. */
  async begin(): Promise<void> {
    const { env } = this.s;
    this.policy = await bindPolicy(this.s.policy, env);
    const scene = env.renderScene();
    this.ids = scene.visuals.filter((v) => !v.isStatic).map((v) => v.id);
    if (this.s.recorder) {
      this.hooks = this.s.recorder.episodeHooks(this.s.seed, this.s.options);
      this.hooks.onReset?.(this.s.obs);
    }
    this.emit('live:scene', {
      scene, sceneId: env.id, policy: this.s.policy, seed: this.s.seed, ctrlDtSec: env.ctrlDtSec, branchOf: this.s.branchOf,
      overrides: effective(env, Object.keys({ ...this.s.overrides, ...this.s.options })), liveConfig: [...env.liveConfigPaths], shifts: shiftsOf(env), steerable: env.steerTarget() !== null,
      sensors: { depth: !!env.observationFeatures[OBS_DEPTH], tactile: !!env.observationFeatures[OBS_TACTILE] },
    });
    this.emitFrame(0, {}, this.s.controls.act, this.s.obs);
    this.schedule(0);
  }

  private emitFrame(reward: number, metrics: Record<string, number>, opts: ActOpts, obs: Observation): void {
    const env = this.s.env, c = this.s.controls;
    const frame = env.renderFrame(this.ids);
    this.emit('live:frame', {
      frame, reward, metrics, seq: this.seq++, sentAtMs: Date.now(), act: actReport(opts), steer: env.steerTarget(),
      ...(c.overlays && this.policy ? { debug: this.policy.debugOverlays() } : {}),
      ...(c.sensors ? { sensors: sensorInset(env, obs) } : {}),
    });
  }

  /** Re-send the current frame (after a command changed what it shows, e.g. while paused). */
  refresh(): void {
    if (!this.stopped) this.emitFrame(0, {}, this.s.controls.act, this.s.obs);
  }

  get seed(): number { return this.s.seed; }

  setPaused(p: boolean): void {
    this.paused = p;
    if (!p && !this.timer && !this.stopped) this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.paused) return;
    this.timer = setTimeout(() => { this.timer = null; void this.tick(); }, Math.max(0, delayMs));
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.paused || this.busy) return;
    this.busy = true;
    const t0 = Date.now();
    const periodMs = (this.s.env.ctrlDtSec * 1000) / this.s.speed;
    try {
      // This step's options (a 'live:command' between steps changes the next one, never one in flight).
      const opts: ActOpts = { ...this.s.controls.act };
      const a = await this.policy!.act(this.s.obs, opts);
      if (this.stopped) return;
      const r: StepResult = this.s.env.step(a);
      this.hooks.onStep?.(this.tally.length, a, r);
      const done = this.tally.add(r);
      this.s.obs = r.obs;
      this.emitFrame(r.reward, { ...r.metrics }, opts, r.obs);
      if (done) {
        await this.finish();
        return;
      }
    } catch (e) {
      this.emit('live:error', { message: e instanceof Error ? e.message.split('\n')[0]! : String(e) });
      await this.stop(true);
      return;
    } finally {
      this.busy = false;
    }
    this.schedule(periodMs - (Date.now() - t0));
  }

  private async finish(): Promise<void> {
    const summary = this.tally.summary(this.s.env, this.s.seed);
    if (this.s.recorder) {
      this.s.recorder.endEpisode(summary);
      await this.s.recorder.close();
      this.s.recorder = undefined;
    }
    this.stopped = true;
    this.emit('live:ended', { seed: summary.seed, return: summary.return, length: summary.length, success: summary.success, reason: summary.reason, file: this.s.recordFile });
  }

  /** Stop ticking; a recording in progress is finished as it stands (abort = drop it). */
  async stop(abort = false): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.s.recorder && !this.stopped) {
      const rec = this.s.recorder;
      this.s.recorder = undefined;
      this.stopped = true;
      if (abort) await rec.abort();
      else {
        rec.endEpisode(this.tally.summary(this.s.env, this.s.seed, 'stopped'));
        await rec.close();
      }
    }
    this.stopped = true;
    this.policy?.dispose();
    this.policy = null;
  }

  dispose(): void { this.s.env.dispose(); }
}

// --- the host --------------------------------------------------------------------------------------------------------

export interface HostOptions {
  mode: 'electron' | 'web';
  /** Recording to open first (command line). */
  file?: string | null;
  /** Run directory to follow on the training page. */
  run?: string | null;
  /** Project directory: runs/ and results/ are looked up here. */
  cwd: string;
  /** Push an event to the UI. */
  emit: <E extends EventName>(event: E, data: Events[E]) => void;
}

export class ViewerHost {
  private recording: { file: string; rec: Recording } | null = null;
  private live: LiveSession | null = null;
  private forkCount = 0;

  constructor(private o: HostOptions) {}

  /** Handle a request whose payload has already passed `validateRequest`. */
  async handle<C extends Channel>(channel: C, payload: Req<C>): Promise<Responses[C]> {
    const h = this.handlers[channel] as (p: Req<C>) => Promise<Responses[C]>;
    return h(payload);
  }

  private handlers: { [C in Channel]: (p: Req<C>) => Promise<Responses[C]> } = {
    'app:init': async () => ({
      mode: this.o.mode, file: this.o.file ?? null, run: this.o.run ?? null, scenes: sceneInfos(), policies: listPolicies(this.o.cwd), runs: listRuns(this.o.cwd), cwd: this.o.cwd,
    }),
    'recording:open': async ({ file }) => this.openRecording(file),
    'recording:episode': async ({ episode }) => this.episode(episode),
    'live:start': async ({ sceneId, policy, seed, speed, set, act }) => {
      const overrides = liveOverrides(set);
      const env = makeEnv(sceneId, overrides); // validates the overrides: a bad one throws before anything stops
      await this.stopLive();
      const { obs } = env.reset({ seed });
      this.controls = { act: actFrom(act), overlays: this.controls.overlays, sensors: this.controls.sensors };
      await this.startLive({ env, policy, seed, speed: speed ?? 1, controls: this.controls, overrides, obs });
      return { sceneId, policy, seed, ctrlDtSec: env.ctrlDtSec };
    },
    'live:command': async (p) => this.command(p),
    'live:reset': async ({ seed }) => {
      const cur = this.live;
      if (!cur) throw new Error('no live session to reset (start one first)');
      const env = cur.env, policy = this.lastLive!.policy, speed = this.lastLive!.speed;
      await cur.stop();
      this.live = null;
      const options = this.lastLive!.options;
      const { obs } = env.reset({ seed, options });
      await this.startLive({ ...this.lastLive!, env, policy, seed, speed, obs, options, recorder: undefined, recordFile: undefined, branchOf: undefined });
      return { seed };
    },
    'live:pause': async ({ paused }) => {
      if (!this.live) throw new Error('no live session');
      this.live.setPaused(paused);
      return { paused };
    },
    'live:stop': async () => ({ stopped: await this.stopLive() }),
    'fork:start': async (p) => this.fork(p),
    'run:metrics': async ({ run, fromLine }) => readRunMetrics(resolve(this.o.cwd, run), fromLine ?? 0),
    'results:list': async ({ dir }) => readResults(resolve(this.o.cwd, dir ?? 'results')),
  };

  private lastLive: SessionInit | null = null;
  private controls: LiveControls = { act: {}, overlays: false, sensors: false };

  /**
   * 'live:command': change the running session in place (act options, live config paths, the steered target,
   * overlay/inset toggles); a config path that needs a rebuild restarts the episode on the same seed. Everything is
   * checked before anything changes, so a bad command leaves the session as it was.
   */
  private async command(p: Req<'live:command'>): Promise<Responses['live:command']> {
    const cur = this.live, last = this.lastLive;
    if (!cur || !last) throw new Error('no live session (start one first)');
    const env = cur.env;
    const set = liveOverrides(p.set);
    const setKeys = Object.keys(set);
    if (setKeys.length) applyOverrides(env.config, set); // validate paths and types first
    if (p.steer && p.steer.length !== 3) throw new Error('live:command: steer must be [x, y, z] (metres)');
    if (p.steer && env.steerTarget() === null) throw new Error(`scene ${env.id} has no target to steer`);
    const c = this.controls;
    const act: ActOpts = { ...c.act, ...actFrom(p.act) };
    for (const k of p.clear ?? []) delete act[k as keyof ActOpts];
    const notes: string[] = [];
    if (p.steer) {
      const t = p.steer as [number, number, number];
      env.steer(t);
      const goal = goalFromTarget(env, env.steerTarget() ?? t);
      if (goal) act.goal = goal; else delete act.goal;
      notes.push(`target moved to (${t.map((v) => v.toFixed(2)).join(', ')})`);
    }
    c.act = act;
    if (p.overlays !== undefined) c.overlays = p.overlays;
    if (p.sensors !== undefined) c.sensors = p.sensors;
    let restarted = false;
    if (setKeys.length) {
      const live = env.liveConfigPaths;
      const rebuild = setKeys.filter((k) => !live.includes(k));
      last.options = { ...last.options, ...set };
      if (rebuild.length) {
        const seed = cur.seed;
        await cur.stop();
        this.live = null;
        const { obs } = env.reset({ seed, options: last.options });
        await this.startLive({ ...last, env, obs, recorder: undefined, recordFile: undefined, branchOf: undefined });
        restarted = true;
        notes.push(`${rebuild.join(', ')} needs a rebuild: episode restarted on seed ${seed}`);
      } else {
        env.setLiveConfig(set);
        notes.push(`${setKeys.join(', ')} changed in place`);
      }
    }
    if (!restarted) this.live?.refresh();
    return {
      act: actReport(act), restarted, applied: setKeys, overrides: effective(env, Object.keys({ ...last.overrides, ...last.options })), steerTarget: env.steerTarget(),
      overlays: c.overlays, sensors: c.sensors, message: notes.join('; '),
    };
  }

  private async startLive(init: SessionInit): Promise<void> {
    this.lastLive = init;
    const s = new LiveSession(init, this.o.emit);
    this.live = s;
    await s.begin();
  }

  private async stopLive(): Promise<boolean> {
    const s = this.live;
    if (!s) return false;
    this.live = null;
    await s.stop();
    s.dispose();
    return true;
  }

  private async openRecording(file: string): Promise<RecordingInfo> {
    const path = resolve(this.o.cwd, file);
    if (!existsSync(path)) throw new Error(`recording not found: ${file}`);
    const rec = await loadRecording(path);
    this.recording = { file: path, rec };
    return {
      file: path, meta: { ...rec.meta, parent: rec.meta.parent ?? undefined }, ctrlDtSec: rec.meta.ctrlDtSec ?? 0.05,
      episodes: rec.episodes.map((e, index) => ({
        index, seed: e.seed, length: e.steps.length,
        return: e.summary?.return ?? e.steps.reduce((a, s) => a + s.reward, 0),
        success: e.summary?.success ?? e.steps.some((s) => s.metrics.success === 1),
        reason: e.summary?.reason ?? (e.steps.at(-1)?.reason ?? ''),
      })),
    };
  }

  private mustRecording(): { file: string; rec: Recording } {
    if (!this.recording) throw new Error('no recording is open');
    return this.recording;
  }

  /** Frames of an episode: entry t = the state after t actions (entry 0 = right after reset). */
  private episode(i: number): EpisodeData {
    const { rec } = this.mustRecording();
    const e = rec.episodes[i];
    if (!e) throw new Error(`episode ${i} does not exist (the recording has ${rec.episodes.length})`);
    const first = e.initialFrame ?? e.steps[0]?.frame;
    if (!first) throw new Error(`episode ${i} has no render frames`);
    const steps: RecordingStep[] = [{ step: 0, action: [], reward: 0, metrics: {}, frame: first, stateHash: e.initialStateHash }];
    let last = first;
    for (const s of e.steps) {
      last = s.frame ?? last;
      steps.push({ step: s.step + 1, action: s.action, reward: s.reward, metrics: s.metrics, frame: last, stateHash: s.stateHash });
    }
    return { episode: i, seed: e.seed, scene: e.scene, steps };
  }

  /**
   * Fork at (episode, step): `step` = number of recorded actions to re-simulate, i.e. the state after control step
   * `step`. The recording's hash of that state is the initialStateHash (step 0) or the stateHash of action step − 1.
   * The branch is recorded with `parent`; its recorded initialStateHash is the restored state's hash.
   */
  private async fork(p: Req<'fork:start'>): Promise<ForkResult> {
    const { file, rec } = this.mustRecording();
    const e = rec.episodes[p.episode];
    if (!e) throw new Error(`episode ${p.episode} does not exist (the recording has ${rec.episodes.length})`);
    if (p.step > e.steps.length) throw new Error(`step ${p.step} is past the episode's end (${e.steps.length} steps)`);
    const parentHash = p.step === 0 ? e.initialStateHash : e.steps[p.step - 1]!.stateHash;

    await this.stopLive();
    const env = makeEnv(rec.meta.sceneId, rec.meta.overrides);
    let obs: Observation;
    try {
      obs = env.reset({ seed: e.seed, options: e.options ?? undefined }).obs;
      for (let i = 0; i < p.step; i++) obs = env.step(Float32Array.from(e.steps[i]!.action)).obs;
    } catch (err) {
      env.dispose();
      throw err;
    }
    const branchHash = env.stateHash();
    const parent = { file, episode: p.episode, step: p.step };
    const out = join(dirname(file), `${basename(file, '.mcap')}.fork-e${p.episode}-s${p.step}-${Date.now().toString(36)}${this.forkCount++}.mcap`);
    this.controls = { act: actFrom({ goal: p.goal, intent: p.intent, guidance: p.guidance }), overlays: this.controls.overlays, sensors: this.controls.sensors };
    const recorder = await EpisodeRecorder.create(out, env, {
      policy: p.policy, overrides: rec.meta.overrides, command: `view fork ${basename(file)} episode ${p.episode} step ${p.step}`, parent,
    });
    await this.startLive({ env, policy: p.policy, seed: p.seed ?? e.seed, speed: p.speed ?? 1, controls: this.controls, overrides: rec.meta.overrides, obs, branchOf: parent, options: e.options ?? undefined, recorder, recordFile: out });
    return { parentHash, branchHash, match: parentHash === branchHash, file: out, parent };
  }

  async dispose(): Promise<void> {
    await this.stopLive();
  }
}

// --- runs and results --------------------------------------------------------------------------------------------------

export function readRunMetrics(run: string, fromLine: number): Responses['run:metrics'] {
  const file = existsSync(run) && statSync(run).isDirectory() ? join(run, 'metrics.jsonl') : run;
  if (!file.endsWith('.jsonl')) throw new Error(`run must be a run directory or a .jsonl file: ${run}`);
  if (!existsSync(file)) return { run, rows: [], nextLine: fromLine, exists: false };
  const text = readFileSync(file, 'utf8');
  // Only complete lines: the trainer may be mid-way through writing the last one.
  const lines = text.split('\n');
  lines.pop();
  const rows: Record<string, unknown>[] = [];
  for (let i = fromLine; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (!l) { rows.push({}); continue; }
    try { rows.push(JSON.parse(l) as Record<string, unknown>); } catch { rows.push({}); }
  }
  return { run, rows, nextLine: lines.length, exists: true };
}

export function readResults(dir: string): Responses['results:list'] {
  if (!existsSync(dir)) return { dir, files: [] };
  const files: { name: string; data: unknown }[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    try { files.push({ name, data: JSON.parse(readFileSync(join(dir, name), 'utf8')) }); } catch { files.push({ name, data: { error: 'unreadable JSON' } }); }
  }
  return { dir, files };
}
