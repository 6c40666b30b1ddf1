export * from './depth_camera.ts';
export * from './tactile.ts';
export * from './proprio.ts';
export * from './batched_depth.ts';
