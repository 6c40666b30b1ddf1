export * from './rng.ts';
export * from './vec.ts';
