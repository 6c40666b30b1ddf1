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
import type { StepResult } from '../../sim/core/env.ts';
import { EpisodeTally, type EpisodeSummary } from '../../sim/core/rollout.ts';
import { builtinPolicy, BUILTIN_POLICIES, type ActOptions } from '../../sim/core/policy.ts';
import type { Channel, EpisodeData, EventName, Events, ForkResult, RecordingInfo, RecordingStep, Req, Responses, SceneInfo } from '../shared/ipc.ts';
import { readRecording, type Recording } from '../../sim/data/replay.ts';
import { EpisodeRecorder } from '../../sim/data/recorder.ts';

// --- recordings (sim/data) -----------------------------------------------------------------------------------------

export async function loadRecording(file: string): Promise<Recording> {
  return readRecording(file);
}

// --- policies -------------------------------------------------------------------------------------------------------

type ActOpts = ActOptions;
interface BoundPolicy { act(obs: Observation): Promise<Float32Array>; dispose(): void }

interface LoadedPolicy { act(obs: Observation, opts?: ActOpts): Promise<Float32Array>; reset(): void; dispose(): void }

/** Bind a policy spec ('expert' | 'random' | 'zero' | run/checkpoint dir) to an env that has just been reset/restored. */
async function bindPolicy(spec: string, env: SceneEnv, opts: ActOpts): Promise<BoundPolicy> {
  if ((BUILTIN_POLICIES as readonly string[]).includes(spec)) {
    const src = builtinPolicy(spec)(env);
    let t = 0;
    return { act: async (obs) => src(obs, t++), dispose() {} };
  }
  if (!existsSync(spec)) throw new Error(`unknown policy '${spec}' (built-in: ${BUILTIN_POLICIES.join(', ')}, or a run/checkpoint directory)`);
  // Trained policies (policy core): TensorFlow.js backend first, then the checkpoint.
  const { initBackend } = await import('../../policies/common/backend.ts');
  await initBackend();
  const { loadPolicy } = await import('../../policies/train/load.ts');
  const p: LoadedPolicy = loadPolicy(spec);
  p.reset();
  return { act: (obs) => p.act(obs, opts), dispose: () => p.dispose() };
}

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

export function sceneInfos(): SceneInfo[] {
  return listScenes().map((s) => ({ id: s.id, family: s.family, description: s.description, hasExpert: !!s.expert, ctrlDtSec: s.defaultConfig().ctrlDtSec }));
}

// --- live session ----------------------------------------------------------------------------------------------------

interface SessionInit {
  env: SceneEnv;
  policy: string;
  seed: number;
  speed: number;
  actOpts: ActOpts;
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
    this.policy = await bindPolicy(this.s.policy, env, this.s.actOpts);
    const scene = env.renderScene();
    this.ids = scene.visuals.filter((v) => !v.isStatic).map((v) => v.id);
    if (this.s.recorder) {
      this.hooks = this.s.recorder.episodeHooks(this.s.seed, this.s.options);
      this.hooks.onReset?.(this.s.obs);
    }
    this.emit('live:scene', { scene, sceneId: env.id, policy: this.s.policy, seed: this.s.seed, ctrlDtSec: env.ctrlDtSec, branchOf: this.s.branchOf });
    this.emit('live:frame', { frame: env.renderFrame(this.ids), reward: 0, metrics: {}, seq: this.seq++, sentAtMs: Date.now() });
    this.schedule(0);
  }

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
      const a = await this.policy!.act(this.s.obs);
      if (this.stopped) return;
      const r: StepResult = this.s.env.step(a);
      this.hooks.onStep?.(this.tally.length, a, r);
      const done = this.tally.add(r);
      this.s.obs = r.obs;
      this.emit('live:frame', { frame: this.s.env.renderFrame(this.ids), reward: r.reward, metrics: { ...r.metrics }, seq: this.seq++, sentAtMs: Date.now() });
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
      mode: this.o.mode, file: this.o.file ?? null, run: this.o.run ?? null, scenes: sceneInfos(), policies: listPolicies(this.o.cwd), cwd: this.o.cwd,
    }),
    'recording:open': async ({ file }) => this.openRecording(file),
    'recording:episode': async ({ episode }) => this.episode(episode),
    'live:start': async ({ sceneId, policy, seed, speed }) => {
      await this.stopLive();
      const env = makeEnv(sceneId);
      const { obs } = env.reset({ seed });
      await this.startLive({ env, policy, seed, speed: speed ?? 1, actOpts: {}, obs });
      return { sceneId, policy, seed, ctrlDtSec: env.ctrlDtSec };
    },
    'live:reset': async ({ seed }) => {
      const cur = this.live;
      if (!cur) throw new Error('no live session to reset (start one first)');
      const env = cur.env, policy = this.lastLive!.policy, speed = this.lastLive!.speed;
      await cur.stop();
      this.live = null;
      const { obs } = env.reset({ seed });
      await this.startLive({ env, policy, seed, speed, actOpts: this.lastLive!.actOpts, obs });
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
    const actOpts: ActOpts = { goal: p.goal ? Float32Array.from(p.goal) : undefined, intent: p.intent, guidance: p.guidance };
    const recorder = await EpisodeRecorder.create(out, env, {
      policy: p.policy, overrides: rec.meta.overrides, command: `view fork ${basename(file)} episode ${p.episode} step ${p.step}`, parent,
    });
    await this.startLive({ env, policy: p.policy, seed: p.seed ?? e.seed, speed: p.speed ?? 1, actOpts, obs, branchOf: parent, options: e.options ?? undefined, recorder, recordFile: out });
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
