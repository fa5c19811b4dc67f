import { LiveStatus, ProgressBar } from '../src/cli/progress';

/** A terminal stand-in that keeps what was written. */
function fakeTty(): { tty: NodeJS.WriteStream; written: string[] } {
  const written: string[] = [];
  return { tty: { write: (s: string) => written.push(s) > 0 } as unknown as NodeJS.WriteStream, written };
}

describe('LiveStatus (standard input: size unknown)', () => {
  test('bytes read and the description on one redrawn line, at most twice a second; clear erases it', () => {
    const { tty, written } = fakeTty();
    let now = 10_000;
    let frames = 0;
    const status = new LiveStatus(tty, () => `${frames} frames`, () => now);
    status.update(2048);
    frames = 5;
    now += 100;
    status.update(4096); // too soon: not drawn
    now += 400;
    status.update(3 * 1048576);
    status.clear();
    expect(written).toEqual(['\r\x1b[K2 KB read: 0 frames', '\r\x1b[K3.0 MB read: 5 frames', '\r\x1b[K']);
  });
});

describe('ProgressBar (a file of known size)', () => {
  test('fraction, megabytes and the last update drawn even when it comes soon after the previous one', () => {
    const { tty, written } = fakeTty();
    const bar = new ProgressBar(tty);
    bar.update(5 * 1048576, 20 * 1048576);
    bar.update(20 * 1048576, 20 * 1048576);
    expect(written[0]).toMatch(/^\r\[#{8}\.{22}\] {2}25% {2}5\/20 MB/);
    expect(written[1]).toMatch(/^\r\[#{30}\] 100% {2}20\/20 MB/);
  });
});
