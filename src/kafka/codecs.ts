import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { decompress as zstdDecompress, compress as zstdCompress } from '@mongodb-js/zstd';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import createSnappyCodec from 'kafkajs-snappy';
import { compressFrame, decompressFrame } from 'lz4-napi';

/**
 * kafkajs has only gzip built in; sensor topics are often snappy-, lz4- or zstd-compressed.
 * Kafka's LZ4 is the LZ4 frame format (KIP-57); snappy may arrive in xerial framing, which
 * kafkajs-snappy handles. lz4-napi and @mongodb-js/zstd ship prebuilt binaries through npm.
 */
export const COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

export const COMPRESSION_TYPE: Record<Compression, CompressionTypes> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

/** The codec id in a record batch's attributes (the low three bits). */
export const COMPRESSION_CODEC: Record<Compression, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

const snappy = createSnappyCodec();
const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** Compresses the records section of a batch the way kafkajs (with our codecs) does. */
export function compressRecords(compression: Exclude<Compression, 'none'>, records: Buffer): Promise<Buffer> {
  switch (compression) {
    case 'gzip':
      return gzipAsync(records);
    case 'snappy':
      return snappy.compress({ buffer: records });
    case 'lz4':
      return compressFrame(records);
    case 'zstd':
      return zstdCompress(records, 3);
  }
}

/** Decompresses a batch's records section, by the codec number in its attributes (1 gzip, 2 snappy, 3 lz4, 4 zstd). */
export async function decompressRecords(codec: number, records: Buffer): Promise<Buffer> {
  switch (codec) {
    case 1:
      return gunzipAsync(records);
    case 2:
      return snappy.decompress(records);
    case 3:
      return decompressFrame(records);
    case 4:
      return zstdDecompress(records);
    default:
      throw new Error(`unknown compression codec ${codec} in a record batch`);
  }
}

let registered = false;

export function registerCodecs(): void {
  if (registered) return;
  registered = true;
  CompressionCodecs[CompressionTypes.Snappy] = createSnappyCodec;
  CompressionCodecs[CompressionTypes.LZ4] = () => ({
    compress: (encoder: { buffer: Buffer }) => compressFrame(encoder.buffer),
    decompress: (buffer: Buffer) => decompressFrame(buffer),
  });
  CompressionCodecs[CompressionTypes.ZSTD] = () => ({
    compress: (encoder: { buffer: Buffer }) => zstdCompress(encoder.buffer, 3),
    decompress: (buffer: Buffer) => zstdDecompress(buffer),
  });
}
