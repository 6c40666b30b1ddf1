/**
 * Builds the renderer (electron/renderer/app.ts + three + uPlot) into one JS and one CSS file with esbuild, in
 * memory. The web server serves the result; the Electron shell writes it next to its bundled main/preload scripts.
 * No CDN, no remote content: everything the page loads comes from here.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
export const RENDERER_DIR = join(here, '..', 'renderer');

/** Content-Security-Policy of the page. `connect` = extra connect-src (the web mode's WebSocket origin). */
export function csp(connect: string | null): string {
  return [
    "default-src 'none'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data: blob:",
    `connect-src ${connect ? `'self' ${connect}` : "'none'"}`, "font-src 'self'", "base-uri 'none'", "form-action 'none'", "object-src 'none'",
  ].join('; ');
}

export interface RendererBundle { 'index.html': string; 'app.js': string; 'app.css': string; 'style.css': string }

export async function buildRenderer(opts: { connect: string | null; minify?: boolean }): Promise<RendererBundle> {
  const res = await build({
    entryPoints: [join(RENDERER_DIR, 'app.ts')],
    bundle: true, format: 'iife', platform: 'browser', target: 'chrome120',
    outdir: 'out', write: false, minify: opts.minify ?? true, sourcemap: false, logLevel: 'silent',
    legalComments: 'none',
  });
  let js = '', css = '';
  for (const f of res.outputFiles) {
    if (f.path.endsWith('.js')) js = f.text;
    else if (f.path.endsWith('.css')) css = f.text;
  }
  if (!js) throw new Error('renderer bundle produced no JavaScript');
  const html = readFileSync(join(RENDERER_DIR, 'index.html'), 'utf8').replace('__CSP__', csp(opts.connect));
  return { 'index.html': html, 'app.js': js, 'app.css': css, 'style.css': readFileSync(join(RENDERER_DIR, 'style.css'), 'utf8') };
}
