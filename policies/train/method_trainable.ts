/** Data-parallel worker factory: rebuild a method's policy from its PolicySpec (same seed ⇒ same initial weights). */
import type { PolicySpec } from '../common/policy.ts';
import { getMethod } from '../registry.ts';
import type { Trainable } from './trainable.ts';

export function createTrainable(config: unknown, seed: number): Trainable {
  const spec = config as PolicySpec;
  return getMethod(spec.method).create(spec, seed);
}
