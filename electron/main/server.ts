/**
 * Web mode: serves the renderer on 127.0.0.1 and hosts the simulation in this Node process. The page talks to the
 * host over one WebSocket (/ws) with the same IPC table as Electron: every message is validated by
 * `validateWsMessage` before it reaches the host; malformed ones get `{ id, ok: false, error }` and nothing happens.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { validateWsMessage, type EventName, type Events, type WsServerMessage } from '../shared/ipc.ts';
import { buildRenderer, csp } from './bundle.ts';
import { ViewerHost } from './host.ts';

export interface WebServerOptions {
  /** 0 = an ephemeral port. */
  port: number;
  file?: string | null;
  run?: string | null;
  cwd: string;
}

export interface WebServer { url: string; port: number; host: ViewerHost; close(): Promise<void> }

const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

export async function startWebServer(o: WebServerOptions): Promise<WebServer> {
  const clients = new Set<WebSocket>();
  const emit = <E extends EventName>(event: E, data: Events[E]) => {
    const text = JSON.stringify({ event, data } satisfies WsServerMessage);
    for (const c of clients) if (c.readyState === c.OPEN) c.send(text);
  };
  const host = new ViewerHost({ mode: 'web', file: o.file, run: o.run, cwd: o.cwd, emit });

  let files: Record<string, string> = {};
  let policy = '';
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const name = path === '/' ? 'index.html' : path.slice(1);
    const body = req.method === 'GET' ? files[name] : undefined;
    if (body === undefined) { res.writeHead(404, { 'content-type': 'text/plain' }).end('not found'); return; }
    res.writeHead(200, {
      'content-type': TYPES[name.split('.').pop()!] ?? 'application/octet-stream',
      'content-security-policy': `${policy}; frame-ancestors 'none'`,
      'x-content-type-options': 'nosniff', 'cache-control': 'no-store',
    }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  policy = csp(`ws://127.0.0.1:${port}`);
  files = { ...(await buildRenderer({ connect: `ws://127.0.0.1:${port}` })) };

  const wss = new WebSocketServer({
    server, path: '/ws', maxPayload: 1_000_000,
    // Only pages served by this server may connect (no cross-site WebSocket hijacking).
    verifyClient: ({ origin: o2 }: { origin: string }) => o2 === origin || o2 === `http://localhost:${port}`,
  });
  wss.on('connection', (ws) => {
    clients.add(ws);
    ws.on('close', () => clients.delete(ws));
    ws.on('message', (raw) => {
      const text = raw.toString();
      let id = -1;
      try {
        const m = validateWsMessage(text);
        id = m.id;
        host.handle(m.channel, m.payload as never).then(
          (result) => ws.send(JSON.stringify({ id, ok: true, result } satisfies WsServerMessage)),
          (e: unknown) => ws.send(JSON.stringify({ id, ok: false, error: e instanceof Error ? e.message.split('\n')[0]! : String(e) } satisfies WsServerMessage)),
        );
      } catch (e) {
        try { const p = JSON.parse(text) as { id?: unknown }; if (typeof p.id === 'number') id = p.id; } catch { /* not JSON */ }
        ws.send(JSON.stringify({ id, ok: false, error: e instanceof Error ? e.message : String(e) } satisfies WsServerMessage));
      }
    });
  });

  return {
    url: `${origin}/`, port, host,
    async close() {
      await host.dispose();
      for (const c of clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
