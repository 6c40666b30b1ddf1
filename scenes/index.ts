/**
 * Registers every scene. Tools import this module once (or call `loadScenes()`); `sim/core/registry.ts` then finds
 * scenes by id. A new task adds one line to its family's index.ts.
 */
import { registerScene } from '../sim/core/registry.ts';
import { initPhysics } from '../sim/physics/index.ts';
import { drivingScenes } from './driving/index.ts';
import { humanoidScenes } from './humanoid/index.ts';
import { manipulationScenes } from './manipulation/index.ts';
import { robotScenes } from './robot/index.ts';
import { toyScenes } from './toy/index.ts';

export const allScenes = [...toyScenes, ...manipulationScenes, ...drivingScenes, ...humanoidScenes, ...robotScenes];
for (const s of allScenes) registerScene(s);

/**
 * Physics initialised and every scene registered — what a tool or worker needs before `makeEnv`. Registration happens
 * when this module loads; this awaits Rapier's WASM init (idempotent, once per thread).
 */
export async function loadScenes(): Promise<void> {
  await initPhysics();
}

export { getScene, listScenes, makeEnv } from '../sim/core/registry.ts';
