// Scenes of the driving family; each task file adds one entry here.
import type { SceneDef } from '../../sim/core/index.ts';
import { drivingIntersection } from './intersection.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const drivingScenes: SceneDef<any, any>[] = [drivingIntersection];
