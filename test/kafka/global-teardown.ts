import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Stops the broker globalSetup started (and removes its data), leaving no process behind. */
export default function globalTeardown(): void {
  const dir = process.env.TCPREUSE_KAFKA_DIR;
  if (!dir) return;
  execFileSync('bash', [join(__dirname, '..', '..', 'docker', 'kafka', 'broker.sh'), 'stop', dir], { stdio: 'inherit' });
}
