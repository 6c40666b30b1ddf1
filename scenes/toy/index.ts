import { pointReach } from './point_reach.ts';

export const toyScenes = [pointReach];
