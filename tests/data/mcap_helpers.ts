/** Test helper: copy an MCAP recording message by message, rewriting JSON payloads (to tamper with recordings). */
import { readFileSync, writeFileSync } from 'node:fs';
import { McapStreamReader, McapWriter, type IWritable } from '@mcap/core';
import { mcapDecompressHandlers } from '../../sim/data/replay.ts';

/** Copy an MCAP file message by message, letting `edit` rewrite message payloads (JSON). */
export async function rewriteMcap(src: string, dst: string, edit: (topic: string, v: Record<string, unknown>) => Record<string, unknown>) {
  const chunks: Uint8Array[] = [];
  let pos = 0n;
  const writable: IWritable = { write: async (b) => { chunks.push(b.slice()); pos += BigInt(b.length); }, position: () => pos };
  const w = new McapWriter({ writable });
  await w.start({ profile: '', library: 'test' });
  const reader = new McapStreamReader({ decompressHandlers: await mcapDecompressHandlers() });
  reader.append(readFileSync(src));
  const schemaMap = new Map<number, number>(), chanMap = new Map<number, number>(), topics = new Map<number, string>();
  for (let r; (r = reader.nextRecord()); ) {
    if (r.type === 'Schema') schemaMap.set(r.id, await w.registerSchema({ name: r.name, encoding: r.encoding, data: r.data }));
    else if (r.type === 'Channel') {
      topics.set(r.id, r.topic);
      chanMap.set(r.id, await w.registerChannel({ topic: r.topic, schemaId: schemaMap.get(r.schemaId)!, messageEncoding: r.messageEncoding, metadata: r.metadata }));
    } else if (r.type === 'Message') {
      const v = edit(topics.get(r.channelId)!, JSON.parse(new TextDecoder().decode(r.data)));
      await w.addMessage({ ...r, channelId: chanMap.get(r.channelId)!, data: new TextEncoder().encode(JSON.stringify(v)) });
    }
  }
  await w.end();
  writeFileSync(dst, Buffer.concat(chunks));
}

