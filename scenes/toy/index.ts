import { pointReach } from './point_reach.ts';
import { zonePlay } from './zone_play.ts';

export const toyScenes = [pointReach, zonePlay];
