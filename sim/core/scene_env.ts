/**
 * SceneEnv: turns a SceneDef into an Env. Owns the Rapier world, the scene RNG, the step counter and the episode
 * bookkeeping; the scene supplies physics, observations and reward terms.
 *
 * Snapshot layout (little-endian): 'STRD' | u32 version | u32 worldBytes | world snapshot | UTF-8 JSON of
 * { h, rng, step, cfg, expertRng }. sha256 of it is the state hash used as a determinism oracle.
 */
import { createHash } from 'node:crypto';
import { Rng } from '../math/rng.ts';
import { createWorld, restoreWorld, snapshotWorld, worldDiverged, type World } from '../physics/index.ts';
import { applyOverrides, checkRanges, cloneConfig } from './config.ts';
import type { Env, ExpertHandle, ResetOptions, StepResult } from './env.ts';
import { ACTION, featureSize, validateObservation, type Features, type Observation } from './features.ts';
import { colliderPoses, describeColliders, type RenderFrame, type RenderScene } from './render.ts';
import { BASE_CONFIG_RANGES, type SceneConfigBase, type SceneDef, type ScriptedExpert } from './scene.ts';
import { decodeState, encodeState } from './state_codec.ts';

const SNAPSHOT_MAGIC = 0x44525453; // 'STRD'
const SNAPSHOT_VERSION = 1;

export class SceneEnv<C extends SceneConfigBase = SceneConfigBase, H = unknown> implements Env {
  readonly id: string;
  readonly observationFeatures: Features;
  readonly actionFeatures: Features;
  readonly ctrlDtSec: number;
  readonly simDtSec: number;
  /** Physics steps per env step. */
  readonly substeps: number;
  /** Validate every observation against its features (on in tests, off for speed). */
  validate = false;

  private readonly baseCfg: C;
  private cfg: C;
  private world: World | null = null;
  private h: H | null = null;
  private rng = new Rng(0);
  private stepCount = 0;
  private seed = 0;
  private lastObs: Observation | null = null;
  private expertImpl: ScriptedExpert<C, H> | null = null;
  private expertRng = new Rng(0);
  private readonly actionLow: number;
  private readonly actionHigh: number;
  private readonly actionSize: number;

  constructor(readonly def: SceneDef<C, H>, overrides: Record<string, unknown> = {}) {
    this.id = def.id;
    this.baseCfg = applyOverrides(def.defaultConfig(), overrides);
    checkRanges(this.baseCfg, def.defaultConfig(), { ...BASE_CONFIG_RANGES, ...def.configRanges }, `scene ${def.id} config`);
    this.cfg = this.baseCfg;
    const f = def.features(this.baseCfg);
    this.observationFeatures = f.observation;
    this.actionFeatures = f.action;
    const a = f.action[ACTION];
    if (!a) throw new Error(`scene ${def.id}: action features must contain '${ACTION}'`);
    this.actionSize = featureSize(a);
    this.actionLow = a.low ?? -Infinity;
    this.actionHigh = a.high ?? Infinity;
    this.ctrlDtSec = this.baseCfg.ctrlDtSec;
    this.simDtSec = this.baseCfg.simDtSec;
    const n = this.ctrlDtSec / this.simDtSec;
    this.substeps = Math.round(n);
    if (this.substeps < 1 || Math.abs(n - this.substeps) > 1e-6) {
      throw new Error(`scene ${def.id}: ctrlDtSec (${this.ctrlDtSec}) must be a whole multiple of simDtSec (${this.simDtSec})`);
    }
  }

  /** The effective config of the current episode (read-only by convention). */
  get config(): C { return this.cfg; }
  /** Seed of the current episode. */
  get episodeSeed(): number { return this.seed; }
  /** Control steps taken in this episode. */
  get stepIndex(): number { return this.stepCount; }
  /** The live physics world (for sensors, benchmarks and tools; do not keep it across reset/restore). */
  get physicsWorld(): World { return this.mustWorld(); }
  /** The live scene state. */
  get state(): H { if (this.h === null) throw new Error(`env ${this.id}: call reset() first`); return this.h; }

  reset({ seed, options }: ResetOptions): { obs: Observation; info: Record<string, unknown> } {
    if (!Number.isFinite(seed)) throw new Error(`env ${this.id}: reset seed must be a finite number, got ${seed}`);
    this.freeWorld();
    this.cfg = options && Object.keys(options).length ? applyOverrides(this.baseCfg, options) : cloneConfig(this.baseCfg);
    this.seed = seed;
    this.rng = new Rng(seed);
    this.expertRng = new Rng(seed ^ 0x5eed);
    this.stepCount = 0;
    const world = createWorld(this.cfg.simDtSec);
    this.world = world;
    this.h = this.def.build(world, this.cfg, this.rng);
    world.propagateModifiedBodyPositionsToColliders();
    this.expertImpl = null;
    const obs = this.observe();
    return { obs, info: { seed } };
  }

  step(action: Float32Array): StepResult {
    const world = this.mustWorld();
    const h = this.h as H;
    const act = this.checkAction(action);
    const cfg = this.cfg;
    this.def.applyAction(world, h, act, cfg);
    let diverged = false;
    for (let i = 0; i < this.substeps; i++) {
      this.def.beforeSubstep?.(world, h, cfg, i);
      world.step();
    }
    this.stepCount++;
    if (worldDiverged(world)) diverged = true;
    else this.def.afterStep?.(world, h, cfg, this.rng);

    if (diverged) {
      return {
        obs: this.lastObs!, reward: 0, terminated: false, truncated: true,
        metrics: { success: 0 }, info: { reason: 'physics-diverged' },
      };
    }
    const obs = this.observe();
    const terms = this.def.rewardTerms(world, h, act, cfg);
    const metrics: Record<string, number> = {};
    let reward = 0;
    for (const [name, value] of Object.entries(terms)) {
      const s = cfg.reward.scales[name];
      if (s === undefined) throw new Error(`scene ${this.id}: reward term '${name}' has no scale in cfg.reward.scales`);
      const v = value * s;
      metrics[`reward/${name}`] = v;
      reward += v;
    }
    if (!Number.isFinite(reward)) {
      return { obs, reward: 0, terminated: false, truncated: true, metrics: { success: 0 }, info: { reason: 'physics-diverged' } };
    }
    const success = this.def.isSuccess(world, h, cfg);
    metrics.success = success ? 1 : 0;
    const reason = this.def.terminalReason(world, h, cfg);
    const terminated = reason !== null || (success && cfg.terminateOnSuccess);
    const truncated = !terminated && this.stepCount >= cfg.maxSteps;
    const done = terminated || truncated;
    if (this.def.metrics) Object.assign(metrics, this.def.metrics(world, h, cfg, done));
    const info: Record<string, unknown> = {};
    if (done) info.reason = reason ?? (success && terminated ? 'success' : 'time-limit');
    return { obs, reward, terminated, truncated, metrics, info };
  }

  /** The scene's scripted expert bound to this env (seeded from the episode seed). Throws if the scene has none. */
  expert(): ExpertHandle {
    if (!this.def.expert) throw new Error(`scene ${this.id} has no scripted expert`);
    if (!this.expertImpl) {
      this.expertImpl = this.def.expert(this.cfg);
      this.expertImpl.reset(this.mustWorld(), this.h as H, this.cfg, this.expertRng);
    }
    const impl = this.expertImpl;
    return {
      act: () => impl.act(this.mustWorld(), this.h as H, this.cfg),
      labels: () => impl.labels?.() ?? {},
      debugOverlays: () => impl.debugOverlays?.(this.mustWorld(), this.h as H, this.cfg) ?? [],
    };
  }

  /** Config paths this scene lets a running episode change in place (`SceneDef.liveConfig`). */
  get liveConfigPaths(): readonly string[] { return this.def.liveConfig ?? []; }

  /**
   * Change live config paths of the running episode in place (the snapshot carries the changed config, so a
   * restore reproduces it). Throws (one line) for a path not in `liveConfigPaths` or a value of the wrong type.
   */
  setLiveConfig(overrides: Record<string, unknown>): void {
    this.mustWorld();
    const live = this.liveConfigPaths;
    for (const k of Object.keys(overrides)) if (!live.includes(k)) throw new Error(`env ${this.id}: '${k}' cannot change mid-episode (live: ${live.join(', ') || 'none'})`);
    this.cfg = applyOverrides(this.cfg, overrides);
  }

  /** The task's steerable world-frame target (metres), or null when the scene has none. */
  steerTarget(): [number, number, number] | null {
    return this.def.steerTarget?.(this.mustWorld(), this.h as H, this.cfg) ?? null;
  }

  /** Move the task's target (metres, world frame). Throws when the scene cannot be steered. */
  steer(targetM: [number, number, number]): void {
    if (!this.def.steer) throw new Error(`scene ${this.id} cannot be steered`);
    this.def.steer(this.mustWorld(), this.h as H, this.cfg, targetM);
  }

  get hasExpert(): boolean { return !!this.def.expert; }

  snapshot(): Uint8Array {
    const world = this.mustWorld();
    const w = snapshotWorld(world);
    const meta = new TextEncoder().encode(encodeState({ h: this.h, rng: this.rng.getState(), step: this.stepCount, cfg: this.cfg }));
    const out = new Uint8Array(12 + w.length + meta.length);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, SNAPSHOT_MAGIC, true);
    dv.setUint32(4, SNAPSHOT_VERSION, true);
    dv.setUint32(8, w.length, true);
    out.set(w, 12);
    out.set(meta, 12 + w.length);
    return out;
  }

  restore(s: Uint8Array): void {
    if (!(s instanceof Uint8Array) || s.length < 12) throw new Error(`env ${this.id}: snapshot is truncated`);
    const dv = new DataView(s.buffer, s.byteOffset, s.byteLength);
    if (dv.getUint32(0, true) !== SNAPSHOT_MAGIC) throw new Error(`env ${this.id}: not a Stride snapshot`);
    if (dv.getUint32(4, true) !== SNAPSHOT_VERSION) throw new Error(`env ${this.id}: unsupported snapshot version ${dv.getUint32(4, true)}`);
    const n = dv.getUint32(8, true);
    if (12 + n > s.length) throw new Error(`env ${this.id}: snapshot is truncated`);
    let meta: { h: H; rng: number[]; step: number; cfg: C };
    try {
      meta = decodeState(new TextDecoder().decode(s.subarray(12 + n)));
    } catch {
      throw new Error(`env ${this.id}: snapshot scene state is corrupt`);
    }
    const world = restoreWorld(s.slice(12, 12 + n));
    this.freeWorld();
    this.world = world;
    this.h = meta.h;
    this.cfg = meta.cfg;
    this.rng.setState(meta.rng);
    this.stepCount = meta.step;
    this.expertImpl = null;
    this.def.rebind?.(world, this.h, this.cfg);
    this.lastObs = null;
  }

  /** sha256 (hex) of the current snapshot. */
  stateHash(): string {
    return createHash('sha256').update(this.snapshot()).digest('hex');
  }

  renderScene(): RenderScene {
    const world = this.mustWorld();
    const h = this.h as H;
    const visuals = describeColliders(world, (handle) => this.def.style?.(h, handle));
    return { sceneId: this.id, visuals, focus: [0, 0.5, 0] };
  }

  renderFrame(ids?: readonly number[]): RenderFrame {
    const world = this.mustWorld();
    const idList = ids ?? this.renderScene().visuals.filter((v) => !v.isStatic).map((v) => v.id);
    const extra = this.def.render?.(world, this.h as H, this.cfg) ?? {};
    return {
      step: this.stepCount,
      tSec: this.stepCount * this.ctrlDtSec,
      ids: [...idList],
      poses: colliderPoses(world, idList),
      overlays: extra.overlays ?? [],
      hud: extra.hud ?? {},
    };
  }

  dispose(): void {
    this.freeWorld();
    this.h = null;
  }

  // --- internals ---

  private observe(): Observation {
    const obs = this.def.observe(this.mustWorld(), this.h as H, this.cfg, this.rng);
    if (this.validate) validateObservation(this.observationFeatures, obs, `scene ${this.id} observation`);
    this.lastObs = obs;
    return obs;
  }

  private checkAction(action: Float32Array): Float32Array {
    if (!(action instanceof Float32Array)) throw new Error(`env ${this.id}: action must be a Float32Array`);
    if (action.length !== this.actionSize) throw new Error(`env ${this.id}: action has ${action.length} elements, expected ${this.actionSize}`);
    const out = new Float32Array(this.actionSize);
    for (let i = 0; i < action.length; i++) {
      const v = action[i]!;
      if (!Number.isFinite(v)) throw new Error(`env ${this.id}: action element ${i} is not finite (${v})`);
      out[i] = v < this.actionLow ? this.actionLow : v > this.actionHigh ? this.actionHigh : v;
    }
    return out;
  }

  private mustWorld(): World {
    if (!this.world) throw new Error(`env ${this.id}: call reset() first`);
    return this.world;
  }

  private freeWorld(): void {
    if (this.world) {
      this.world.free();
      this.world = null;
    }
  }
}
