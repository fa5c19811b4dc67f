import { readCapture } from '../src/capture/pcap-reader';
import { decodeFrames } from '../src/operators/decode-frames';
import { trackFlows } from '../src/operators/track-flows';
const out: string[] = ['frame,stream,reused'];
readCapture(process.argv[2]).pipe(decodeFrames(), trackFlows({ annotate: true })).subscribe({
  next(e) { if (e.type === 'packet') out.push(`${e.frame},${e.stream ?? ''},${e.reused ? 1 : 0}`); },
  error(e) { console.error(String(e)); process.exit(1); },
  complete() { process.stdout.write(out.join('\n') + '\n'); },
});
