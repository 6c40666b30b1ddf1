import { robotReach } from './reach.ts';

export const robotScenes = [robotReach];
