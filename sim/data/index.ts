/**
 * sim/data — datasets (numpy-readable .npy columns + JSON meta, crash-safe writer, validated reader, sequence sampler)
 * and MCAP recordings (recorder, reader, bit-exact verifier). See dataset.ts and recorder.ts for the on-disk formats.
 */
export * from './npy.ts';
export * from './dataset.ts';
export * from './recorder.ts';
export * from './replay.ts';
export { SyncMcapWriter } from './mcap_writer.ts';
