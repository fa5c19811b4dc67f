import type { Logger } from '../util/logger';

/** How long one client's disconnect may take when the broker is gone before it is given up on. */
export const DISCONNECT_TIMEOUT_MS = 10_000;

/**
 * Disconnects the consumer, the producer and the admin client, in that order (the consumer first,
 * so the group hears that this member leaves). Each failure is logged, not thrown; a disconnect
 * that does not finish (a broker that went away mid-request) is given up on after
 * DISCONNECT_TIMEOUT_MS, so that a failed service ends instead of lingering as a zombie member.
 */
export async function disconnectAll(log: Logger, clients: readonly [string, { disconnect(): Promise<void> } | null][]): Promise<void> {
  for (const [what, client] of clients) {
    if (!client) continue;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.disconnect(),
        new Promise<void>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${DISCONNECT_TIMEOUT_MS / 1000} s`)), DISCONNECT_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      log.warn(`${what} failed during shutdown`, { error: err as Error });
    } finally {
      clearTimeout(timer);
    }
  }
}
