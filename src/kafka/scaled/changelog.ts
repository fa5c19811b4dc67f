/**
 * Checkpoints in the changelog topic (`<app-id>.state`, compacted). A task's checkpoint goes to
 * the state partition with its own partition number, as chunks keyed `<task>@<slot>#<i>` and then a
 * manifest keyed `<task>` naming the checkpoint, its chunks and the input offset it covers.
 * Checkpoints alternate between two slots: a crash while chunks of the next one are being written
 * leaves the slot the last manifest names untouched (compaction keeps the newest record per key).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../util/logger';
import type { KafkaConnection } from '../client';
import type { MessagePacker } from '../message-pack';
import { PartitionReader } from '../wire/partition-reader';

/** Bytes per chunk: under the broker's default message.max.bytes (1 MB) with room for the batch. */
export const CHUNK_BYTES = 512 * 1024;
const CHECKPOINT_HEADER = 'tcpreuse-checkpoint';

export interface Manifest {
  readonly task: string;
  readonly id: string;
  readonly slot: number;
  readonly chunks: number;
  readonly bytes: number;
  /** The input offset the checkpoint covers: the task goes on from here. */
  readonly offset: number;
  readonly writtenAtMs: number;
}

export interface Restored {
  readonly manifest: Manifest;
  readonly checkpoint: Buffer;
}

/** Appends a checkpoint's chunks and manifest to `packer`; returns the manifest. */
export function packCheckpoint(packer: MessagePacker, topic: string, partition: number, task: string, slot: number, checkpoint: Buffer, offset: number): Manifest {
  const id = randomBytes(8).toString('hex');
  const chunks = Math.max(1, Math.ceil(checkpoint.length / CHUNK_BYTES));
  const now = Date.now();
  for (let i = 0; i < chunks; i++) {
    packer.begin(topic, partition, now, true);
    packer.field(`${task}@${slot}#${i}`);
    packer.field(checkpoint.subarray(i * CHUNK_BYTES, Math.min(checkpoint.length, (i + 1) * CHUNK_BYTES)));
    packer.headers({ [CHECKPOINT_HEADER]: id });
    packer.label('checkpoint');
  }
  const manifest: Manifest = { task, id, slot, chunks, bytes: checkpoint.length, offset, writtenAtMs: now };
  packer.begin(topic, partition, now, true);
  packer.field(task);
  packer.field(JSON.stringify(manifest));
  packer.headers(undefined);
  packer.label('checkpoint');
  return manifest;
}

/**
 * The newest whole checkpoint of each of `tasks` in state partition `partition` (none for a task
 * that has never written one). Reads the partition from its start to its end.
 */
export async function readCheckpoints(
  connection: KafkaConnection,
  logger: Logger,
  topic: string,
  partition: number,
  tasks: ReadonlySet<string>,
): Promise<{ restored: Map<string, Restored>; bytes: number; seconds: number }> {
  const started = performance.now();
  const manifests = new Map<string, Manifest>();
  const chunks = new Map<string, { id: string; value: Buffer }>();
  const reader = new PartitionReader(connection, logger);
  let bytes = 0;
  try {
    const read = await reader.read(topic, partition, (records) => {
      for (const r of records) {
        const key = r.key?.toString('utf8') ?? '';
        const at = key.lastIndexOf('@');
        const task = at >= 0 ? key.slice(0, at) : key;
        if (!tasks.has(task) || !r.value) continue;
        if (at < 0) manifests.set(task, JSON.parse(r.value.toString('utf8')) as Manifest);
        else chunks.set(key, { id: r.headers[CHECKPOINT_HEADER] ?? '', value: r.value });
      }
    });
    bytes = read.bytes;
  } finally {
    reader.close();
  }
  const restored = new Map<string, Restored>();
  for (const [task, m] of manifests) {
    const parts: Buffer[] = [];
    for (let i = 0; i < m.chunks; i++) {
      const c = chunks.get(`${task}@${m.slot}#${i}`);
      if (!c || c.id !== m.id) {
        logger.warn('checkpoint incomplete in the changelog; the task starts without it', { task, checkpoint: m.id, missingChunk: i });
        parts.length = 0;
        break;
      }
      parts.push(c.value);
    }
    if (parts.length === m.chunks) restored.set(task, { manifest: m, checkpoint: Buffer.concat(parts) });
  }
  return { restored, bytes, seconds: (performance.now() - started) / 1000 };
}
