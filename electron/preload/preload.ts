/**
 * Electron preload (sandboxed, context-isolated): exposes the narrow `window.stride` API — `invoke` on the channels
 * of the IPC table only, and `on` for host events. No Node, no ipcRenderer, no arbitrary channels reach the page.
 * Bundled to CommonJS (sandboxed preloads cannot be ES modules) by cli/view.ts.
 */
import { CHANNELS, type Channel, type EventName, type StrideApi } from '../shared/ipc.ts';

interface IpcRendererLike {
  invoke(channel: string, payload: unknown): Promise<unknown>;
  on(channel: string, l: (e: unknown, m: { event: string; data: unknown }) => void): void;
  removeListener(channel: string, l: (e: unknown, m: { event: string; data: unknown }) => void): void;
}
const { contextBridge, ipcRenderer } = require('electron') as {
  contextBridge: { exposeInMainWorld(key: string, api: unknown): void };
  ipcRenderer: IpcRendererLike;
};

const allowed = new Set<string>(CHANNELS);

const api: StrideApi = {
  invoke: ((channel: Channel, payload: unknown) => {
    if (!allowed.has(channel)) return Promise.reject(new Error(`unknown IPC channel '${String(channel)}'`));
    return ipcRenderer.invoke(channel, payload);
  }) as StrideApi['invoke'],
  on: ((event: EventName, listener: (d: unknown) => void) => {
    const h = (_e: unknown, m: { event: string; data: unknown }) => { if (m.event === event) listener(m.data); };
    ipcRenderer.on('stride:event', h);
    return () => ipcRenderer.removeListener('stride:event', h);
  }) as StrideApi['on'],
};

contextBridge.exposeInMainWorld('stride', api);
