// Scenes of the humanoid family; each task file adds one entry here.
import type { SceneDef } from '../../sim/core/index.ts';
import { hoi } from './hoi.ts';
import { walk } from './walk.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const humanoidScenes: SceneDef<any, any>[] = [walk, hoi];
