/** How long the first interrupt waits for the writer of a live capture to close the pipe. */
const INTERRUPT_GRACE_MS = 2000;

/**
 * A live capture on standard input (tcpdump -w - | tcpreuse analyze -) ends with Ctrl-C, which
 * reaches the whole pipeline: tcpdump writes out what it holds and closes the pipe. So the first
 * interrupt only waits for that end of input (ending it here after a grace period if the writer
 * stays alive), and the report of what was read still comes; a second interrupt stops at once.
 */
export function endInputOnInterrupt(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onInterrupt = (): void => {
    if (timer) process.exit(130);
    process.stderr.write((process.stderr.isTTY ? '\r\x1b[K' : '') + 'tcpreuse: interrupted: finishing with the packets read so far (interrupt again to stop at once)\n');
    timer = setTimeout(() => controller.abort(), INTERRUPT_GRACE_MS);
    timer.unref(); // the pipe closing ends the run without it
  };
  process.on('SIGINT', onInterrupt);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onInterrupt);
      clearTimeout(timer);
    },
  };
}
