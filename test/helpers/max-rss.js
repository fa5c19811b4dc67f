// Preloaded (node -r) into a CLI run: prints the process's peak resident set size on exit, for
// the memory-bound tests (no /usr/bin/time needed).
process.on('exit', () => process.stderr.write(`max-rss-kb=${process.resourceUsage().maxRSS}\n`));
