/**
 * Registers every scene. Tools import this module once; `sim/core/registry.ts` then finds scenes by id.
 * A new task adds one line to its family's index.ts.
 */
import { registerScene } from '../sim/core/registry.ts';
import { drivingScenes } from './driving/index.ts';
import { humanoidScenes } from './humanoid/index.ts';
import { manipulationScenes } from './manipulation/index.ts';
import { toyScenes } from './toy/index.ts';

export const allScenes = [...toyScenes, ...manipulationScenes, ...drivingScenes, ...humanoidScenes];
for (const s of allScenes) registerScene(s);

export { getScene, listScenes, makeEnv } from '../sim/core/registry.ts';
