/**
 * A synchronous, chunked and indexed MCAP writer over a file descriptor.
 *
 * Why not `McapWriter` from @mcap/core: its methods are async and must not overlap, so a synchronous rollout loop
 * would have to queue every message in memory until the loop yields (a whole `stride eval --record` run). This writer
 * produces the same file layout (Header, chunks with message indexes, DataEnd with data CRC, summary with schemas,
 * channels, statistics and chunk indexes, summary offsets, Footer with summary CRC) using @mcap/core's own
 * synchronous record and chunk builders, and writes each chunk as soon as it is full — compressed when a
 * `ChunkCompression` is given (the recorder passes zstd), plus Metadata records with a metadata index in the summary.
 */
import { writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { McapChunkBuilder, McapRecordBuilder, Opcode, type McapTypes } from '@mcap/core';

type Schema = McapTypes.Schema;
type Channel = McapTypes.Channel;
type Message = McapTypes.Message;
type ChunkIndex = McapTypes.ChunkIndex;
type SummaryOffset = McapTypes.SummaryOffset;
type MetadataIndex = McapTypes.MetadataIndex;

/** Chunk compression: the MCAP compression name and a synchronous compressor (e.g. zstd from @foxglove/wasm-zstd). */
export interface ChunkCompression {
  name: 'zstd' | 'lz4';
  compress(records: Uint8Array): Uint8Array;
}

export class SyncMcapWriter {
  private pos = 0n;
  /** Running CRC of the data section (magic … last record before DataEnd). */
  private dataCrc = 0;
  /** Running CRC of the summary section (through the footer's fixed fields). */
  private summaryCrc = 0;
  private section: 'data' | 'none' | 'summary' = 'data';
  private readonly rb = new McapRecordBuilder();
  private readonly chunk = new McapChunkBuilder({ useMessageIndex: true });
  private readonly schemas = new Map<number, Schema>();
  private readonly channels = new Map<number, Channel>();
  private readonly written = { schemas: new Set<number>(), channels: new Set<number>() };
  private readonly chunkIndexes: ChunkIndex[] = [];
  private readonly metadataIndexes: MetadataIndex[] = [];
  private nextSchemaId = 1;
  private nextChannelId = 0;
  private readonly stats: McapTypes.Statistics = {
    messageCount: 0n, schemaCount: 0, channelCount: 0, attachmentCount: 0, metadataCount: 0, chunkCount: 0,
    messageStartTime: 0n, messageEndTime: 0n, channelMessageCounts: new Map(),
  };

  /**
   * `chunkSize`: uncompressed bytes per chunk before it is written out; `compression`: how chunks are compressed
   * (null = stored uncompressed; a chunk that does not shrink is stored uncompressed too).
   */
  constructor(private readonly fd: number, private readonly chunkSize = 1 << 20, private readonly compression: ChunkCompression | null = null) {}

  get position(): bigint { return this.pos; }

  start(header: McapTypes.Header): void {
    this.rb.writeMagic();
    this.rb.writeHeader(header);
    this.flush();
  }

  registerSchema(info: Omit<Schema, 'id'>): number {
    const id = this.nextSchemaId++;
    this.schemas.set(id, { ...info, id });
    this.stats.schemaCount++;
    return id;
  }

  registerChannel(info: Omit<Channel, 'id'>): number {
    const id = this.nextChannelId++;
    this.channels.set(id, { ...info, id });
    this.stats.channelCount++;
    return id;
  }

  addMessage(message: Message): void {
    const s = this.stats;
    if (s.messageCount === 0n || message.logTime < s.messageStartTime) s.messageStartTime = message.logTime;
    if (s.messageCount === 0n || message.logTime > s.messageEndTime) s.messageEndTime = message.logTime;
    s.channelMessageCounts.set(message.channelId, (s.channelMessageCounts.get(message.channelId) ?? 0n) + 1n);
    s.messageCount++;
    if (!this.written.channels.has(message.channelId)) {
      const channel = this.channels.get(message.channelId);
      if (!channel) throw new Error(`mcap: message on unregistered channel ${message.channelId}`);
      if (channel.schemaId !== 0 && !this.written.schemas.has(channel.schemaId)) {
        this.chunk.addSchema(this.schemas.get(channel.schemaId)!);
        this.written.schemas.add(channel.schemaId);
      }
      this.chunk.addChannel(channel);
      this.written.channels.add(message.channelId);
    }
    this.chunk.addMessage(message);
    if (this.chunk.byteLength > this.chunkSize) this.finalizeChunk();
  }

  /**
   * An MCAP Metadata record (name → string map), written between chunks and indexed in the summary. Flushes the open
   * chunk first, so the record sits in the data section in time order.
   */
  addMetadata(name: string, metadata: Record<string, string>): void {
    this.finalizeChunk();
    const offset = this.pos;
    const length = this.rb.writeMetadata({ name, metadata: new Map(Object.entries(metadata)) });
    this.flush();
    this.metadataIndexes.push({ offset, length, name });
    this.stats.metadataCount++;
  }

  /** Write the last chunk, DataEnd, the summary and the footer. */
  end(): void {
    this.finalizeChunk();
    this.section = 'none';
    this.rb.writeDataEnd({ dataSectionCrc: this.dataCrc });
    this.flush();
    this.section = 'summary';
    const summaryStart = this.pos;
    const groups: SummaryOffset[] = [];
    const group = (groupOpcode: number, write: () => bigint) => {
      const groupStart = this.pos;
      const groupLength = write();
      this.flush();
      if (groupLength > 0n) groups.push({ groupOpcode, groupStart, groupLength });
    };
    group(Opcode.SCHEMA, () => [...this.schemas.values()].reduce((n, s) => n + this.rb.writeSchema(s), 0n));
    group(Opcode.CHANNEL, () => [...this.channels.values()].reduce((n, c) => n + this.rb.writeChannel(c), 0n));
    group(Opcode.STATISTICS, () => this.rb.writeStatistics(this.stats));
    group(Opcode.CHUNK_INDEX, () => this.chunkIndexes.reduce((n, c) => n + this.rb.writeChunkIndex(c), 0n));
    group(Opcode.METADATA_INDEX, () => this.metadataIndexes.reduce((n, m) => n + this.rb.writeMetadataIndex(m), 0n));
    const summaryOffsetStart = this.pos;
    for (const g of groups) this.rb.writeSummaryOffset(g);
    this.flush();
    // The summary CRC covers the summary section and the footer up to (not including) its CRC field.
    const prefix = new DataView(new ArrayBuffer(1 + 8 + 8 + 8));
    prefix.setUint8(0, Opcode.FOOTER);
    prefix.setBigUint64(1, 8n + 8n + 4n, true);
    prefix.setBigUint64(9, summaryStart, true);
    prefix.setBigUint64(17, summaryOffsetStart, true);
    const crc = crc32(new Uint8Array(prefix.buffer), this.summaryCrc);
    this.section = 'none';
    this.rb.writeFooter({ summaryStart, summaryOffsetStart, summaryCrc: crc });
    this.rb.writeMagic();
    this.flush();
  }

  // --- internals ---

  private finalizeChunk(): void {
    const c = this.chunk;
    if (c.numMessages === 0) return;
    this.stats.chunkCount++;
    const raw = c.buffer;
    const uncompressedSize = BigInt(raw.length);
    let records = raw, compression = '';
    if (this.compression) {
      const packed = this.compression.compress(raw);
      if (packed.length < raw.length) { records = packed; compression = this.compression.name; }
    }
    const chunkStartOffset = this.pos;
    const chunkLength = this.rb.writeChunk({
      messageStartTime: c.messageStartTime, messageEndTime: c.messageEndTime, uncompressedSize,
      uncompressedCrc: crc32(raw), compression, records,
    });
    this.flush();
    const messageIndexStart = this.pos;
    let messageIndexLength = 0n;
    const messageIndexOffsets = new Map<number, bigint>();
    for (const mi of c.indices) {
      messageIndexOffsets.set(mi.channelId, messageIndexStart + messageIndexLength);
      messageIndexLength += this.rb.writeMessageIndex(mi);
    }
    this.chunkIndexes.push({
      messageStartTime: c.messageStartTime, messageEndTime: c.messageEndTime, chunkStartOffset, chunkLength,
      messageIndexOffsets, messageIndexLength, compression, compressedSize: BigInt(records.length), uncompressedSize,
    });
    c.reset();
    this.flush();
  }

  private flush(): void {
    const buf = this.rb.buffer;
    if (buf.length === 0) return;
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    this.pos += BigInt(buf.length);
    if (this.section === 'data') this.dataCrc = crc32(buf, this.dataCrc);
    else if (this.section === 'summary') this.summaryCrc = crc32(buf, this.summaryCrc);
    this.rb.reset();
  }
}
