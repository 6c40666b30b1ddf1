/**
 * Electron main process: one window (contextIsolation, sandbox, no nodeIntegration, strict CSP, no remote content,
 * no navigation, no new windows, no permissions), a menu, and one `ipcMain.handle` per channel of the IPC table that
 * validates the payload (and the sender) before the ViewerHost sees it. The simulation runs here, off the UI thread.
 *
 * Launched by `stride view` (cli/view.ts), which bundles this file with esbuild and passes its options in the
 * STRIDE_VIEW environment variable as JSON: { file, run, cwd, rendererDir, preload }.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CHANNELS, validateRequest, type EventName, type Events } from '../shared/ipc.ts';
import { ViewerHost } from './host.ts';
import { loadScenes } from '../../scenes/index.ts';

/* Minimal structural types of the Electron APIs used (electron is an optional dependency, not always installed). */
interface WebContents {
  send(channel: string, data: unknown): void;
  setWindowOpenHandler(h: () => { action: 'deny' }): void;
  on(ev: 'will-navigate', h: (e: { preventDefault(): void }) => void): void;
}
interface BrowserWindowLike { webContents: WebContents; loadFile(p: string): Promise<void>; on(ev: 'closed', h: () => void): void }
interface ElectronLike {
  app: { whenReady(): Promise<void>; on(ev: string, h: () => void): void; quit(): void };
  BrowserWindow: new (o: unknown) => BrowserWindowLike;
  ipcMain: { handle(ch: string, h: (ev: { senderFrame?: { url: string } | null }, payload: unknown) => Promise<unknown>): void };
  Menu: { buildFromTemplate(t: unknown[]): unknown; setApplicationMenu(m: unknown): void };
  dialog: { showOpenDialog(w: BrowserWindowLike, o: unknown): Promise<{ canceled: boolean; filePaths: string[] }> };
  session: { defaultSession: { setPermissionRequestHandler(h: (wc: unknown, p: string, cb: (ok: boolean) => void) => void): void } };
}

async function main(): Promise<void> {
  const opts = JSON.parse(process.env.STRIDE_VIEW ?? '{}') as { file?: string | null; run?: string | null; cwd?: string; rendererDir: string; preload: string };
  const electronModule = 'electron';
  const E = (await import(electronModule)) as unknown as ElectronLike;
  await loadScenes();
  await E.app.whenReady();
  E.session.defaultSession.setPermissionRequestHandler((_wc, _p, cb) => cb(false));

  let win: BrowserWindowLike | null = null;
  const emit = <K extends EventName>(event: K, data: Events[K]) => win?.webContents.send('stride:event', { event, data });
  const host = new ViewerHost({ mode: 'electron', file: opts.file ?? null, run: opts.run ?? null, cwd: opts.cwd ?? process.cwd(), emit });
  const pageUrl = pathToFileURL(join(opts.rendererDir, 'index.html')).href;

  for (const ch of CHANNELS) {
    E.ipcMain.handle(ch, async (ev, payload) => {
      if (!ev.senderFrame || ev.senderFrame.url !== pageUrl) throw new Error('IPC from an unexpected frame');
      const v = validateRequest(ch, payload);
      return host.handle(v.channel, v.payload as never);
    });
  }

  win = new E.BrowserWindow({
    width: 1360, height: 860, title: 'Stride viewer', backgroundColor: '#f4f6f9',
    webPreferences: { preload: opts.preload, contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, webviewTag: false, spellcheck: false },
  });
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  win.webContents.on('will-navigate', (e) => e.preventDefault());
  win.on('closed', () => { win = null; void host.dispose(); });

  E.Menu.setApplicationMenu(E.Menu.buildFromTemplate([
    {
      label: 'File', submenu: [
        {
          label: 'Open recording…', accelerator: 'CmdOrCtrl+O',
          click: async () => {
            if (!win) return;
            const r = await E.dialog.showOpenDialog(win, { properties: ['openFile'], filters: [{ name: 'MCAP recordings', extensions: ['mcap'] }] });
            if (!r.canceled && r.filePaths[0]) emit('app:open', { file: r.filePaths[0] });
          },
        },
        { type: 'separator' }, { role: 'quit' },
      ],
    },
    { label: 'View', submenu: [{ role: 'reload' }, { role: 'toggleDevTools' }, { type: 'separator' }, { role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { role: 'togglefullscreen' }] },
  ]));
  E.app.on('window-all-closed', () => E.app.quit());
  await win.loadFile(join(opts.rendererDir, 'index.html'));
}

main().catch((e) => {
  process.stderr.write(`stride view: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
