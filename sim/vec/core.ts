/**
 * VecCore: steps a slice of SceneEnvs in the calling thread and writes results into caller-owned (possibly shared)
 * arrays. Both SyncVecEnv and each WorkerVecEnv worker are thin shells around it.
 */
import { ACTION, featureSize, type FeatureArray, type Features, type Observation } from '../core/features.ts';
import { makeEnv } from '../core/registry.ts';
import type { SceneEnv } from '../core/scene_env.ts';
import type { AutoresetMode, FinishedEpisode } from './types.ts';

export interface VecBuffers {
  obs: Record<string, FeatureArray>;
  actions: Float32Array;
  rewards: Float32Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
}

/** Allocate result buffers for `n` envs; `shared` puts them in SharedArrayBuffers for worker threads. */
export function allocBuffers(features: Features, actionSize: number, n: number, shared: boolean): VecBuffers {
  const mk = <T extends FeatureArray>(Ctor: { new (b: ArrayBufferLike): T; BYTES_PER_ELEMENT: number }, len: number): T =>
    new Ctor(shared ? new SharedArrayBuffer(len * Ctor.BYTES_PER_ELEMENT) : new ArrayBuffer(len * Ctor.BYTES_PER_ELEMENT));
  const obs: Record<string, FeatureArray> = {};
  for (const [k, s] of Object.entries(features)) {
    const len = featureSize(s) * n;
    obs[k] = s.dtype === 'float32' ? mk(Float32Array, len) : s.dtype === 'uint8' ? mk(Uint8Array, len) : mk(Int32Array, len);
  }
  return { obs, actions: mk(Float32Array, actionSize * n), rewards: mk(Float32Array, n), terminated: mk(Uint8Array, n), truncated: mk(Uint8Array, n) };
}

export class VecCore {
  readonly envs: SceneEnv[];
  private readonly sizes: [string, number][];
  private readonly actionSize: number;
  private needsReset: boolean[];
  private done: boolean[];
  private seeds: number[];
  private episodeIndex: number[];
  private returns: Float64Array;
  private lengths: Int32Array;
  private successes: boolean[];

  /**
   * @param first index of this slice's first env in the whole vector (its seeds are seed + first + j)
   * @param total numEnvs of the whole vector (seed stride between episodes)
   */
  constructor(sceneId: string, overrides: Record<string, unknown>, readonly count: number, readonly first: number, readonly total: number,
    readonly mode: AutoresetMode, readonly buf: VecBuffers) {
    this.envs = Array.from({ length: count }, () => makeEnv(sceneId, overrides));
    const e0 = this.envs[0]!;
    this.sizes = Object.entries(e0.observationFeatures).map(([k, s]) => [k, featureSize(s)]);
    this.actionSize = featureSize(e0.actionFeatures[ACTION]!);
    this.needsReset = new Array(count).fill(false);
    this.done = new Array(count).fill(false);
    this.seeds = new Array(count).fill(0);
    this.episodeIndex = new Array(count).fill(0);
    this.returns = new Float64Array(count);
    this.lengths = new Int32Array(count);
    this.successes = new Array(count).fill(false);
  }

  reset(seed: number): void {
    for (let j = 0; j < this.count; j++) {
      this.seeds[j] = seed + this.first + j;
      this.episodeIndex[j] = 0;
      this.resetOne(j);
    }
    const end = this.first + this.count;
    this.buf.rewards.fill(0, this.first, end); this.buf.terminated.fill(0, this.first, end); this.buf.truncated.fill(0, this.first, end);
  }

  /** Step every env of the slice with its row of `buf.actions`; returns finished episodes and same-step final obs. */
  step(): { episodes: FinishedEpisode[]; finalObs: (Record<string, FeatureArray> | null)[] } {
    const episodes: FinishedEpisode[] = [];
    const finalObs: (Record<string, FeatureArray> | null)[] = new Array(this.count).fill(null);
    const { actions, rewards, terminated, truncated } = this.buf;
    for (let j = 0; j < this.count; j++) {
      const row = this.first + j;
      if (this.needsReset[j]) {
        this.episodeIndex[j]!++;
        this.seeds[j] = this.seeds[j]! + this.total;
        this.resetOne(j);
        rewards[row] = 0; terminated[row] = 0; truncated[row] = 0;
        continue;
      }
      if (this.done[j]) { rewards[row] = 0; continue; } // 'disabled' mode: frozen until reset()
      const env = this.envs[j]!;
      // A private copy: the shared action buffer may be rewritten by the caller while the env keeps the array.
      const r = env.step(actions.slice(row * this.actionSize, (row + 1) * this.actionSize));
      this.returns[j]! += r.reward;
      this.lengths[j]!++;
      if (r.metrics.success) this.successes[j] = true;
      rewards[row] = r.reward;
      terminated[row] = r.terminated ? 1 : 0;
      truncated[row] = r.truncated ? 1 : 0;
      this.writeObs(j, r.obs);
      if (r.terminated || r.truncated) {
        const metrics: Record<string, number> = {};
        for (const [k, v] of Object.entries(r.metrics)) if (!k.startsWith('reward/') && k !== 'success') metrics[k] = v;
        episodes.push({ env: row, seed: this.seeds[j]!, return: this.returns[j]!, length: this.lengths[j]!, success: this.successes[j]!, reason: String(r.info.reason ?? ''), metrics });
        if (this.mode === 'next-step') this.needsReset[j] = true;
        else if (this.mode === 'disabled') this.done[j] = true;
        else {
          finalObs[j] = Object.fromEntries(Object.entries(r.obs).map(([k, v]) => [k, v.slice()]));
          this.episodeIndex[j]!++;
          this.seeds[j] = this.seeds[j]! + this.total;
          this.resetOne(j);
        }
      }
    }
    return { episodes, finalObs };
  }

  close(): void {
    for (const e of this.envs) e.dispose();
  }

  private resetOne(j: number): void {
    const { obs } = this.envs[j]!.reset({ seed: this.seeds[j]! });
    this.writeObs(j, obs);
    this.needsReset[j] = false;
    this.done[j] = false;
    this.returns[j] = 0;
    this.lengths[j] = 0;
    this.successes[j] = false;
  }

  private writeObs(j: number, obs: Observation): void {
    const row = this.first + j;
    for (const [k, n] of this.sizes) (this.buf.obs[k] as FeatureArray).set(obs[k] as FeatureArray, row * n);
  }
}
