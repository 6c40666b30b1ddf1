/**
 * How the UI talks to its host: `window.stride` when the Electron preload exposed it, else a WebSocket to the web
 * server that served this page (same IPC table, same payloads).
 */
import type { Channel, EventName, Events, Req, Responses, StrideApi, WsServerMessage } from '../shared/ipc.ts';

declare global {
  interface Window { stride?: StrideApi }
}

class WsTransport implements StrideApi {
  private ws: WebSocket;
  private nextId = 1;
  private pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private listeners = new Map<string, Set<(d: unknown) => void>>();
  private open: Promise<void>;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.open = new Promise((resolve, reject) => {
      this.ws.addEventListener('open', () => resolve());
      this.ws.addEventListener('error', () => reject(new Error(`cannot connect to ${url}`)));
    });
    this.ws.addEventListener('message', (ev) => {
      const m = JSON.parse(String(ev.data)) as WsServerMessage;
      if ('event' in m) {
        for (const l of this.listeners.get(m.event) ?? []) l(m.data);
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result); else p.reject(new Error(m.error));
    });
    this.ws.addEventListener('close', () => {
      for (const p of this.pending.values()) p.reject(new Error('connection to the viewer host closed'));
      this.pending.clear();
    });
  }

  async invoke<C extends Channel>(channel: C, payload: Req<C>): Promise<Responses[C]> {
    await this.open;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.ws.send(JSON.stringify({ id, channel, payload }));
    });
  }

  /** Send a raw text message (tests use it to check that the host rejects malformed requests). */
  async sendRaw(text: string): Promise<WsServerMessage> {
    await this.open;
    return new Promise((resolve) => {
      const onMsg = (ev: MessageEvent) => {
        const m = JSON.parse(String(ev.data)) as WsServerMessage;
        if ('event' in m) return;
        this.ws.removeEventListener('message', onMsg);
        resolve(m);
      };
      this.ws.addEventListener('message', onMsg);
      this.ws.send(text);
    });
  }

  on<E extends EventName>(event: E, listener: (data: Events[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    const l = listener as (d: unknown) => void;
    set.add(l);
    return () => set!.delete(l);
  }
}

export function connect(): { api: StrideApi; ws: WsTransport | null } {
  if (window.stride) return { api: window.stride, ws: null };
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WsTransport(`${proto}://${location.host}/ws`);
  return { api: ws, ws };
}
