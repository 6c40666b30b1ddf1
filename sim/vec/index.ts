export * from './types.ts';
export { SyncVecEnv, sceneFeatures } from './sync.ts';
export { WorkerVecEnv, type WorkerVecEnvOptions } from './worker.ts';
