/**
 * Checkpoints in the changelog (src/kafka/scaled/changelog.ts) against the real broker: written
 * as the scaled consumer writes them and read back as a restore reads them. Each checkpoint's
 * chunks have keys of their own, so a late writer (a member put out of the group that still
 * writes) can never leave the newest manifest naming chunks someone overwrote; superseded chunks
 * are tombstoned; checkpoints of the earlier two-slot layout still restore.
 */
import { randomBytes } from 'node:crypto';
import { createKafkaClient } from '../../src/kafka/kafka-client';
import { MessagePacker } from '../../src/kafka/message-pack';
import { CHUNK_BYTES, packCheckpoint, readCheckpoints, writtenCheckpoint, type WrittenCheckpoint } from '../../src/kafka/scaled/changelog';
import { PartitionReader } from '../../src/kafka/wire/partition-reader';
import { createLogger } from '../../src/util/logger';
import { BROKERS, createTopic, describeKafka, uniqueName } from '../helpers/kafka';

const connection = (): { brokers: string[]; clientId: string } => ({ brokers: [BROKERS!], clientId: 'changelog-test' });
const log = createLogger('warn');
const TASK = 'in.topic/3';

async function send(packer: MessagePacker): Promise<void> {
  const sink = createKafkaClient(connection(), log).sink({ compression: 'lz4' });
  await sink.connect();
  await sink.send(packer.finish());
  await sink.disconnect();
}

/** Writes `bytes` as a checkpoint the way the consumer does (dropping `drop`); returns what it wrote. */
async function writeCheckpoint(topic: string, bytes: Buffer, offset: number, drop: WrittenCheckpoint[] = []): Promise<WrittenCheckpoint> {
  const packer = new MessagePacker();
  const m = packCheckpoint(packer, topic, 0, TASK, bytes, offset, drop);
  await send(packer);
  return writtenCheckpoint(m);
}

async function restore(topic: string): Promise<{ offset: number; bytes: Buffer } | undefined> {
  const r = await readCheckpoints(connection(), log, topic, 0, new Set([TASK]));
  const found = r.restored.get(TASK);
  return found && { offset: found.manifest.offset, bytes: found.checkpoint };
}

async function rawRecords(topic: string): Promise<{ key: string; tombstone: boolean }[]> {
  const reader = new PartitionReader(connection(), log);
  const out: { key: string; tombstone: boolean }[] = [];
  try {
    await reader.read(topic, 0, (rs) => {
      for (const r of rs) out.push({ key: r.key?.toString() ?? '', tombstone: r.value === null });
    });
  } finally {
    reader.close();
  }
  return out;
}

describeKafka('checkpoints in the changelog topic', () => {
  test('the newest checkpoint comes back whole, over several chunks; the one before the last is tombstoned', async () => {
    const topic = uniqueName('changelog');
    await createTopic(topic, 1, { 'cleanup.policy': 'compact' });
    const a = randomBytes(CHUNK_BYTES * 2 + 100); // three chunks
    const b = randomBytes(CHUNK_BYTES + 1);
    const c = randomBytes(1000);
    const wa = await writeCheckpoint(topic, a, 10);
    expect(await restore(topic)).toEqual({ offset: 10, bytes: a });
    const wb = await writeCheckpoint(topic, b, 20);
    await writeCheckpoint(topic, c, 30, [wa]);
    expect(await restore(topic)).toEqual({ offset: 30, bytes: c });
    const records = await rawRecords(topic);
    const tombstoned = records.filter((r) => r.tombstone).map((r) => r.key);
    expect(tombstoned).toEqual([0, 1, 2].map((i) => `${TASK}@${wa.ref}#${i}`));
    expect(tombstoned.some((k) => k.includes(String(wb.ref)))).toBe(false);
  });

  test('a late writer (a member put out of the group) cannot leave the newest manifest naming overwritten chunks', async () => {
    const topic = uniqueName('changelog');
    await createTopic(topic, 1, { 'cleanup.policy': 'compact' });
    const owner1 = await writeCheckpoint(topic, randomBytes(5000), 100);
    const owner2 = await writeCheckpoint(topic, randomBytes(5000), 200);
    // The new owner restored owner2 and writes on; the old one, put out of the group, writes late.
    const mine = randomBytes(CHUNK_BYTES + 10);
    const newOwner = await writeCheckpoint(topic, mine, 300, [owner1]);
    const late = randomBytes(CHUNK_BYTES + 20);
    await writeCheckpoint(topic, late, 250, [owner1]);
    // The newest manifest is the late one: stale (its offset is older, so input is re-read:
    // repeats), but whole. Under the earlier two-slot layout its chunks overwrote the new owner's.
    expect(await restore(topic)).toEqual({ offset: 250, bytes: late });
    const next = randomBytes(3000);
    await writeCheckpoint(topic, next, 400, [owner2]);
    expect(await restore(topic)).toEqual({ offset: 400, bytes: next });
    expect(newOwner.ref).not.toEqual(owner2.ref);
  });

  test('a checkpoint of the earlier two-slot layout still restores', async () => {
    const topic = uniqueName('changelog');
    await createTopic(topic, 1, { 'cleanup.policy': 'compact' });
    const bytes = randomBytes(CHUNK_BYTES + 7);
    const packer = new MessagePacker();
    for (let i = 0; i < 2; i++) {
      packer.begin(topic, 0, Date.now(), true);
      packer.field(`${TASK}@1#${i}`);
      packer.field(bytes.subarray(i * CHUNK_BYTES, Math.min(bytes.length, (i + 1) * CHUNK_BYTES)));
      packer.headers({ 'tcpreuse-checkpoint': 'abc' });
    }
    packer.begin(topic, 0, Date.now(), true);
    packer.field(TASK);
    packer.field(JSON.stringify({ task: TASK, id: 'abc', slot: 1, chunks: 2, bytes: bytes.length, offset: 42, writtenAtMs: Date.now() }));
    packer.headers(undefined);
    await send(packer);
    expect(await restore(topic)).toEqual({ offset: 42, bytes });
    // The next checkpoint tombstones the slot's chunks once it is superseded in turn.
    const restoredRef = (await readCheckpoints(connection(), log, topic, 0, new Set([TASK]))).restored.get(TASK)!.manifest;
    const first = await writeCheckpoint(topic, randomBytes(10), 50);
    await writeCheckpoint(topic, randomBytes(10), 60, [writtenCheckpoint(restoredRef)]);
    expect((await rawRecords(topic)).filter((r) => r.tombstone).map((r) => r.key)).toEqual([`${TASK}@1#0`, `${TASK}@1#1`]);
    expect(first.ref).toMatch(/^[0-9a-f]{16}$/);
  });
});
