/**
 * Checkpoints in the changelog topic (`<app-id>.state`, compacted). A task's checkpoint goes to
 * the state partition with its own partition number, as chunks keyed `<task>@<checkpoint id>#<i>`
 * and then a manifest keyed `<task>` naming the checkpoint, its chunk count and the input offset it
 * covers. Every checkpoint's chunks have keys of their own, so no writer can overwrite chunks a
 * manifest names (not even a member that was put out of the group and writes late): the newest
 * manifest always names whole chunks. Each checkpoint tombstones the chunks of the one before the
 * last (no manifest names them any more), so compaction keeps about two checkpoints per task.
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
  readonly chunks: number;
  readonly bytes: number;
  /** The input offset the checkpoint covers: the task goes on from here. */
  readonly offset: number;
  readonly writtenAtMs: number;
  /** Checkpoints written before 2026-12-05 keyed their chunks by one of two alternating slots. */
  readonly slot?: number;
}

/** A checkpoint in the changelog, as far as removing it later needs: what its chunk keys carry, and how many. */
export interface WrittenCheckpoint {
  readonly ref: string | number;
  readonly chunks: number;
}

export interface Restored {
  readonly manifest: Manifest;
  readonly checkpoint: Buffer;
}

const chunkKey = (task: string, ref: string | number, i: number): string => `${task}@${ref}#${i}`;

/** The chunks `manifest` names, for tombstoning them once a newer checkpoint supersedes it. */
export const writtenCheckpoint = (m: Manifest): WrittenCheckpoint => ({ ref: m.slot ?? m.id, chunks: m.chunks });

/**
 * Appends a checkpoint's chunks, tombstones for the chunks of each checkpoint in `drop` (ones no
 * manifest names any more), and the manifest to `packer`; returns the manifest.
 */
export function packCheckpoint(packer: MessagePacker, topic: string, partition: number, task: string, checkpoint: Buffer, offset: number, drop: readonly WrittenCheckpoint[] = []): Manifest {
  const id = randomBytes(8).toString('hex');
  const chunks = Math.max(1, Math.ceil(checkpoint.length / CHUNK_BYTES));
  const now = Date.now();
  for (let i = 0; i < chunks; i++) {
    packer.begin(topic, partition, now, true);
    packer.field(chunkKey(task, id, i));
    packer.field(checkpoint.subarray(i * CHUNK_BYTES, Math.min(checkpoint.length, (i + 1) * CHUNK_BYTES)));
    packer.headers({ [CHECKPOINT_HEADER]: id });
    packer.label('checkpoint');
  }
  for (const old of drop) {
    for (let i = 0; i < old.chunks; i++) {
      packer.begin(topic, partition, now, true, true);
      packer.field(chunkKey(task, old.ref, i));
      packer.headers(undefined);
      packer.label('checkpoint');
    }
  }
  const manifest: Manifest = { task, id, chunks, bytes: checkpoint.length, offset, writtenAtMs: now };
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
  /** --exactly-once: only committed checkpoints, once the transactions before the read have ended (waiting up to this long). */
  committedWithinMs?: number,
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
        if (!tasks.has(task)) continue;
        // A tombstone: the chunks of a superseded checkpoint (not held while reading on).
        if (!r.value) {
          if (at >= 0) chunks.delete(key);
          continue;
        }
        if (at < 0) manifests.set(task, JSON.parse(r.value.toString('utf8')) as Manifest);
        else chunks.set(key, { id: r.headers[CHECKPOINT_HEADER] ?? '', value: r.value });
      }
    }, committedWithinMs === undefined ? {} : { readCommitted: true, waitStableMs: committedWithinMs });
    bytes = read.bytes;
  } finally {
    reader.close();
  }
  const restored = new Map<string, Restored>();
  for (const [task, m] of manifests) {
    const parts: Buffer[] = [];
    for (let i = 0; i < m.chunks; i++) {
      const c = chunks.get(chunkKey(task, writtenCheckpoint(m).ref, i));
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
