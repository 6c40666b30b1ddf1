// Scenes of the manipulation family; each task file adds one entry here.
import type { SceneDef } from '../../sim/core/index.ts';
import { blockPush } from './block_push.ts';
import { pickPlace } from './pick_place.ts';
import { play } from './play.ts';
import { pushBlock } from './push_block.ts';
import { pushPlay } from './push_play.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const manipulationScenes: SceneDef<any, any>[] = [pushBlock, pickPlace, play, pushPlay, blockPush];
