/**
 * `stride export-dataset DIR --format lerobot --out OUT [--task TEXT] [--force] [--json]`
 * Converts a Stride dataset (numpy-readable, sim/data/dataset.ts) to another tool's format. Formats: `lerobot` —
 * the LeRobot dataset layout, codebase_version v3.0 (sim/data/lerobot.ts: parquet data files, meta/info.json,
 * meta/stats.json, meta/tasks.parquet, meta/episodes/…). OUT appears only when complete; an existing OUT is replaced
 * only with --force (and only when it is a LeRobot dataset or empty).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { readDataset } from '../sim/data/dataset.ts';
import { exportLeRobot, LEROBOT_CODEBASE_VERSION } from '../sim/data/lerobot.ts';
import { action, info, printJson } from './util.ts';

/** Export formats, by --format name. */
export const EXPORT_FORMATS = ['lerobot'] as const;

interface ExportOpts { format: (typeof EXPORT_FORMATS)[number]; out: string; task?: string; force?: boolean; json?: boolean }

export function register(program: Command): void {
  program
    .command('export-dataset')
    .description(`convert a Stride dataset to another format (${EXPORT_FORMATS.join(', ')}: LeRobot ${LEROBOT_CODEBASE_VERSION} parquet)`)
    .argument('<dir>', 'Stride dataset folder (from `stride demos` or `stride motions`)')
    .requiredOption('--format <name>', `output format: ${EXPORT_FORMATS.join(' | ')}`, (v: string) => {
      if (!(EXPORT_FORMATS as readonly string[]).includes(v)) throw new InvalidArgumentError(`--format must be one of ${EXPORT_FORMATS.join(', ')}, got '${v}'`);
      return v;
    })
    .requiredOption('--out <dir>', 'folder to create')
    .option('--task <text>', 'task string of every episode (default: the scene id)')
    .option('--force', 'replace an existing export at --out (only once the new one is complete)')
    .option('--json', 'print a JSON summary on stdout')
    .action(action(async (dir: string, opts: ExportOpts) => {
      const ds = await readDataset(dir);
      const r = exportLeRobot(ds, { out: opts.out, force: !!opts.force, task: opts.task });
      const summary = { format: opts.format, codebaseVersion: LEROBOT_CODEBASE_VERSION, out: opts.out, episodes: r.totalEpisodes, frames: r.totalFrames, dataFiles: r.dataFiles, features: Object.keys(r.features) };
      if (opts.json) printJson(summary);
      else info(false, `wrote ${r.totalEpisodes} episodes (${r.totalFrames} frames) of ${dir} as a LeRobot ${LEROBOT_CODEBASE_VERSION} dataset to ${opts.out} (${r.dataFiles.length} data file${r.dataFiles.length === 1 ? '' : 's'})`);
    }));
}
