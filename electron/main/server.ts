/**
 * Web mode: serves the renderer on 127.0.0.1 and hosts the simulation in this Node process. The page talks to the
 * host over one WebSocket (/ws) with the same IPC table as Electron: every message is validated by
 * `validateWsMessage` before it reaches the host; malformed ones get `{ id, ok: false, error }` and nothing happens.
 *
 * Hardening: frames above MAX_WS_MESSAGE_BYTES close that socket with status 1009 (ws's `maxPayload`); binary frames
 * get an error reply; every socket and the server have an 'error' handler, so no client can take the process down;
 * a client that does not read its replies (more than MAX_BUFFERED_BYTES queued) is closed with 1008.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_WS_MESSAGE_BYTES, validateWsMessage, type EventName, type Events, type WsServerMessage } from '../shared/ipc.ts';
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

/** Replies queued for one socket beyond this many bytes close it (a client that floods without reading). */
const MAX_BUFFERED_BYTES = 8 << 20;

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
    server, path: '/ws', maxPayload: MAX_WS_MESSAGE_BYTES,
    // Only pages served by this server may connect (no cross-site WebSocket hijacking).
    verifyClient: ({ origin: o2 }: { origin: string }) => o2 === origin || o2 === `http://localhost:${port}`,
  });
  wss.on('error', (e) => console.error(`stride view: WebSocket server error: ${e.message}`));
  wss.on('connection', (ws) => {
    clients.add(ws);
    ws.on('close', () => clients.delete(ws));
    // An oversized frame (ws closes it with 1009), a protocol violation or a reset connection: that socket goes, the
    // server stays. Without this listener ws's 'error' event would be unhandled and kill the process.
    ws.on('error', () => { clients.delete(ws); ws.terminate(); });
    const reply = (m: WsServerMessage) => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) { ws.close(1008, 'too many unread replies'); return; }
      ws.send(JSON.stringify(m));
    };
    ws.on('message', (raw, isBinary) => {
      if (isBinary) { reply({ id: -1, ok: false, error: 'binary frames are not supported (send JSON text)' }); return; }
      const text = raw.toString();
      let id = -1;
      try {
        const m = validateWsMessage(text);
        id = m.id;
        host.handle(m.channel, m.payload as never).then(
          (result) => reply({ id, ok: true, result }),
          (e: unknown) => reply({ id, ok: false, error: e instanceof Error ? e.message.split('\n')[0]! : String(e) }),
        );
      } catch (e) {
        try { const p = JSON.parse(text) as { id?: unknown }; if (typeof p.id === 'number' && Number.isInteger(p.id) && p.id >= 0) id = p.id; } catch { /* not JSON */ }
        reply({ id, ok: false, error: e instanceof Error ? e.message.split('\n')[0]! : String(e) });
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
