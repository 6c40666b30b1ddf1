/**
 * Methods by name (for `stride train --method`, checkpoints and data-parallel workers). Each method issue adds one
 * entry. A method builds a MethodPolicy from a serialisable PolicySpec and a weight-init seed.
 */
import type { MethodPolicy, PolicySpec } from './common/policy.ts';
import type { Dataset } from '../sim/data/dataset.ts';
import type { Batch } from './train/trainable.ts';
import { BcPolicy, defaultBcConfig } from './bc/index.ts';
import { DiffusionPolicy, defaultDiffusionConfig } from './diffusion/index.ts';
import { PpoPolicy, defaultPpoConfig } from './ppo/index.ts';
import { BesoPolicy, defaultBesoConfig } from './beso/index.ts';
import { besoBatcher } from './beso/relabel.ts';

export interface MethodDef {
  /** Offline methods train from a dataset (--data); online ones (ppo) from environment interaction. */
  kind: 'offline' | 'online';
  defaultConfig(): Record<string, unknown>;
  create(spec: PolicySpec, seed: number): MethodPolicy;
  /**
   * Offline methods whose batches need more than (observation window, action window) — e.g. BESO's hindsight goals —
   * build them here; the default is the SequenceSampler + chunkedBatch of the offline trainer.
   */
  batcher?(ds: Dataset, spec: PolicySpec, seed: number): OfflineBatcher;
}

/** A seeded batch source over a dataset; its state (plain numbers) goes into checkpoints for bit-exact resume. */
export interface OfflineBatcher {
  sample(batchSize: number): Batch;
  getState(): number[];
  setState(s: readonly number[]): void;
}

const methods = new Map<string, MethodDef>();

export function registerMethod(name: string, def: MethodDef): void {
  if (methods.has(name)) throw new Error(`method '${name}' registered twice`);
  methods.set(name, def);
}

export function getMethod(name: string): MethodDef {
  const m = methods.get(name);
  if (!m) throw new Error(`unknown method '${name}' (known: ${[...methods.keys()].join(', ')})`);
  return m;
}

export function listMethods(): string[] { return [...methods.keys()]; }

registerMethod('bc', { kind: 'offline', defaultConfig: () => ({ ...defaultBcConfig() }), create: (s, seed) => new BcPolicy(s, seed) });
registerMethod('diffusion', { kind: 'offline', defaultConfig: () => ({ ...defaultDiffusionConfig() }), create: (s, seed) => new DiffusionPolicy(s, seed) });
registerMethod('beso', { kind: 'offline', defaultConfig: () => ({ ...defaultBesoConfig() }), create: (s, seed) => new BesoPolicy(s, seed), batcher: (ds, s, seed) => besoBatcher(ds, s, seed) });
registerMethod('ppo', { kind: 'online', defaultConfig: () => ({ ...defaultPpoConfig() }), create: (s, seed) => new PpoPolicy(s, seed) });
