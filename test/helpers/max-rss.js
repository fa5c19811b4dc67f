// Preloaded (node -r) into a CLI run: prints the process's peak resident set size on exit, for
// the memory-bound tests (no /usr/bin/time needed). From /proc/self/status's VmHWM, the peak of
// this program's own memory: getrusage's maxRSS also counts the parent's size at fork time (Linux
// keeps the larger of the two across exec), so under a big jest worker it reported the worker's.
const { readFileSync } = require('node:fs');
process.on('exit', () => {
  let kb;
  try {
    kb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
  } catch {
    kb = process.resourceUsage().maxRSS;
  }
  process.stderr.write(`max-rss-kb=${kb}\n`);
});
