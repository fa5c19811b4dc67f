/**
 * A "partitions revoked" callback for kafkajs, which has none. Under the eager rebalance protocol
 * a member gives up every partition when it (re)joins the group, and the new owners restore their
 * state from the changelog as soon as the join completes: whatever this member processed after
 * its last checkpoint must be in the changelog before it sends JoinGroup, or the new owners redo
 * it (the events come twice). The coordinator waits for every member to rejoin (up to the
 * rebalance timeout) before it hands out partitions, so a hook that runs before the join holds
 * the rebalance exactly as long as it needs.
 *
 * kafkajs rejoins through `ConsumerGroup.joinAndSync` from several places (a heartbeat, fetch or
 * commit answered "rebalancing", stale metadata, an unknown member id); wrapping that one method
 * catches them all. kafkajs is pinned (2.2.4, its last release); the wrapper checks the method is
 * there and fails loudly if a future version moved it.
 */

interface ConsumerGroupInternals {
  readonly groupId: string;
  readonly generationId: number | null;
  readonly memberId: string | null;
  joinAndSync(): Promise<void>;
}

const hooks = new Map<string, Set<() => Promise<void>>>();
/** Each group's generation and member id after this process's last join (a transactional offset commit names them). */
const memberships = new Map<string, { generationId: number; memberId: string }>();
let installed = false;

function install(): void {
  if (installed) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup') as { prototype: ConsumerGroupInternals };
  const joinAndSync = ConsumerGroup.prototype.joinAndSync;
  if (typeof joinAndSync !== 'function') throw new Error('kafkajs has no ConsumerGroup.joinAndSync: this kafkajs version is not supported (src/kafka/kafkajs-rejoin-hook.ts)');
  ConsumerGroup.prototype.joinAndSync = async function (this: ConsumerGroupInternals): Promise<void> {
    for (const hook of [...(hooks.get(this.groupId) ?? [])]) await hook();
    memberships.delete(this.groupId);
    await joinAndSync.call(this);
    if (this.generationId !== null && this.memberId) memberships.set(this.groupId, { generationId: this.generationId, memberId: this.memberId });
  };
  installed = true;
}

/** The generation and member id of this process's consumer of `groupId` since its last join (null before one, or during one). */
export function groupMembership(groupId: string): { generationId: number; memberId: string } | null {
  return memberships.get(groupId) ?? null;
}

/** Runs `hook` (awaited) before every join of group `groupId` by a consumer of this process; returns the unregister function. */
export function beforeEachJoin(groupId: string, hook: () => Promise<void>): () => void {
  install();
  const set = hooks.get(groupId) ?? new Set();
  set.add(hook);
  hooks.set(groupId, set);
  return () => {
    set.delete(hook);
    if (set.size === 0) hooks.delete(groupId);
  };
}
