/**
 * `stride view [FILE.mcap] [--web] [--port P] [--run RUN]`
 *
 * Opens the viewer: the Electron app when Electron is installed and a display exists, otherwise (or with --web) the
 * same renderer served on http://127.0.0.1:PORT (port 0 = ephemeral) with the simulation hosted in this process.
 * Web mode prints `Viewer: <url>` and serves until Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { writeAtomic } from '../sim/data/atomic.ts';
import { action, CliError, loadScenes, parseIntOpt } from './util.ts';

interface ViewOpts { web?: boolean; port: number; run?: string }

export function register(program: Command): void {
  program
    .command('view')
    .description('open the viewer (Electron app, or a web page on 127.0.0.1 with --web or when Electron is unavailable)')
    .argument('[file]', 'an MCAP recording to open')
    .option('--web', 'serve the viewer as a web page instead of opening the Electron app')
    .option('--port <p>', 'web mode port (0 = ephemeral)', parseIntOpt('port', 0), 5173)
    .option('--run <dir>', 'a training run directory whose metrics.jsonl the Training page follows')
    .action(action(async (file: string | undefined, opts: ViewOpts) => {
      if (file && !existsSync(file)) throw new CliError(`recording not found: ${file}`);
      if (file && !file.toLowerCase().endsWith('.mcap')) throw new CliError(`not an .mcap recording: ${file}`);
      await openViewer({ file: file ? resolve(file) : null, run: opts.run ?? null, web: !!opts.web, port: opts.port });
    }));
}

export interface OpenViewerOptions { file: string | null; run: string | null; web: boolean; port: number }

/** Open Electron if possible, else serve the web viewer until SIGINT/SIGTERM. Resolves when the viewer closes. */
export async function openViewer(o: OpenViewerOptions): Promise<void> {
  const electron = o.web ? null : electronBinary();
  if (electron) {
    await launchElectron(electron, o);
    return;
  }
  if (!o.web) process.stdout.write(`Electron ${electronAvailableWhy()}; serving the web viewer instead.\n`);
  await loadScenes();
  const { startWebServer } = await import('../electron/main/server.ts');
  let srv;
  try {
    srv = await startWebServer({ port: o.port, file: o.file, run: o.run, cwd: process.cwd() });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || o.port === 0) throw e;
    process.stdout.write(`port ${o.port} is busy; using a free one.\n`);
    srv = await startWebServer({ port: 0, file: o.file, run: o.run, cwd: process.cwd() });
  }
  // Handlers first, then the announcement: a supervisor may send SIGTERM the moment it reads the URL, and a signal
  // that arrives before the handler exists kills the process uncleanly (seen under load).
  const stopped = new Promise<void>((res) => {
    const stop = () => { void srv.close().finally(res); };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.stdout.write(`Viewer: ${srv.url}\n(open it in a browser; Ctrl-C to stop)\n`);
  await stopped;
}

function hasDisplay(): boolean {
  return process.platform === 'darwin' || process.platform === 'win32' || !!process.env.DISPLAY || !!process.env.WAYLAND_DISPLAY;
}

/** Path of the Electron binary when the optional dependency is installed and a display exists, else null. */
export function electronBinary(): string | null {
  if (!hasDisplay()) return null;
  try {
    const p = createRequire(import.meta.url)('electron') as unknown;
    return typeof p === 'string' && existsSync(p) ? p : null;
  } catch {
    return null;
  }
}

function electronAvailableWhy(): string {
  if (!hasDisplay()) return 'needs a display (no DISPLAY/WAYLAND_DISPLAY)';
  return 'is not installed (optional dependency)';
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Bundle main, preload and renderer with esbuild into node_modules/.cache/stride-viewer and start Electron on them. */
export async function bundleElectron(outDir = join(repoRoot, 'node_modules', '.cache', 'stride-viewer')): Promise<{ main: string; preload: string; rendererDir: string }> {
  const { build } = await import('esbuild');
  const { buildRenderer } = await import('../electron/main/bundle.ts');
  mkdirSync(outDir, { recursive: true });
  const main = join(outDir, 'main.mjs'), preload = join(outDir, 'preload.cjs');
  await build({
    entryPoints: [join(repoRoot, 'electron', 'main', 'main.ts')], outfile: main, bundle: true, platform: 'node', format: 'esm', target: 'node20',
    packages: 'external', logLevel: 'silent',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  await build({
    entryPoints: [join(repoRoot, 'electron', 'preload', 'preload.ts')], outfile: preload, bundle: true, platform: 'node', format: 'cjs', target: 'chrome120',
    external: ['electron'], logLevel: 'silent',
  });
  const files = await buildRenderer({ connect: null });
  for (const [name, text] of Object.entries(files)) {
    writeAtomic(join(outDir, name), text);
  }
  return { main, preload, rendererDir: outDir };
}

async function launchElectron(bin: string, o: OpenViewerOptions): Promise<void> {
  const b = await bundleElectron();
  process.stdout.write('Opening the Stride viewer (Electron)…\n');
  const child = spawn(bin, [b.main], {
    stdio: 'inherit',
    env: { ...process.env, STRIDE_VIEW: JSON.stringify({ file: o.file, run: o.run, cwd: process.cwd(), rendererDir: b.rendererDir, preload: b.preload }) },
  });
  await new Promise<void>((res, rej) => {
    child.once('error', (e) => rej(new CliError(`could not start Electron: ${e.message}`)));
    child.once('exit', () => res());
  });
}
