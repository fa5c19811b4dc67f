import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Stops the broker and the registry globalSetup started (and removes their data), leaving no process behind. */
export default function globalTeardown(): void {
  const registry = process.env.TCPREUSE_REGISTRY_DIR;
  if (registry) execFileSync('bash', [join(__dirname, '..', '..', 'docker', 'registry', 'registry.sh'), 'stop', registry], { stdio: 'inherit' });
  const dir = process.env.TCPREUSE_KAFKA_DIR;
  if (!dir) return;
  execFileSync('bash', [join(__dirname, '..', '..', 'docker', 'kafka', 'broker.sh'), 'stop', dir], { stdio: 'inherit' });
}
