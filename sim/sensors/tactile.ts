/**
 * Contact/tactile sensing: per sensor collider, the magnitude of the total normal contact force (N) it receives from
 * everything it touches, from Rapier's contact pairs (sum of contact impulses / dt over the last physics step).
 */
import type { World } from '../physics/index.ts';
import { OBS_TACTILE, type FeatureSpec } from '../core/features.ts';

export function tactileFeature(names: readonly string[]): FeatureSpec {
  return { kind: 'tactile', shape: [names.length], dtype: 'float32', names, low: 0, units: 'N' };
}

export const TACTILE_KEY = OBS_TACTILE;

/** Normal force magnitude (N) on collider `handle` from all its contacts during the last physics step. */
export function contactForceN(world: World, handle: number): number {
  const c = world.getCollider(handle);
  if (!c) throw new Error(`tactile: unknown collider handle ${handle}`);
  let impulse = 0;
  world.contactPairsWith(c, (other) => {
    world.contactPair(c, other, (m) => {
      const n = m.numContacts();
      for (let i = 0; i < n; i++) impulse += m.contactImpulse(i);
    });
  });
  return impulse / world.timestep;
}

/** Whether the collider is currently touching anything (has at least one active contact point). */
export function inContact(world: World, handle: number): boolean {
  const c = world.getCollider(handle);
  let touching = false;
  world.contactPairsWith(c, (other) => {
    if (touching) return;
    world.contactPair(c, other, (m) => { if (m.numContacts() > 0) touching = true; });
  });
  return touching;
}

/** Fill `out` with the contact force of each sensor collider. */
export function readTactile(world: World, handles: readonly number[], out = new Float32Array(handles.length)): Float32Array {
  for (let i = 0; i < handles.length; i++) out[i] = contactForceN(world, handles[i]!);
  return out;
}
