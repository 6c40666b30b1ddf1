/**
 * `npx tsx scripts/seal_checkpoint.ts DIR…`: add the integrity record (byte size + SHA-256 of every file, and the
 * manifest's own hash) to checkpoint folders written without one, e.g. a shipped checkpoint edited by hand. Refuses a
 * folder with no manifest.json. Prints one line per folder.
 */
import path from 'node:path';
import { readJsonFile } from '../policies/common/weights_io.ts';
import { sealCheckpoint, verifyCheckpoint, type CheckpointManifest } from '../policies/train/checkpoint.ts';

const dirs = process.argv.slice(2);
if (!dirs.length) { process.stderr.write('usage: npx tsx scripts/seal_checkpoint.ts CHECKPOINT_DIR…\n'); process.exit(2); }
for (const d of dirs) {
  try {
    const m = readJsonFile<CheckpointManifest>(path.join(d, 'manifest.json'), 'checkpoint manifest');
    const sealed = sealCheckpoint(d, m);
    verifyCheckpoint(d);
    process.stdout.write(`sealed ${d}: ${Object.keys(sealed.files ?? {}).join(', ')}\n`);
  } catch (e) {
    process.stderr.write(`seal_checkpoint: ${(e as Error).message.split('\n')[0]}\n`);
    process.exit(1);
  }
}
