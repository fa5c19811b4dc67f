import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Starts the real single-node Kafka broker (docker/kafka/broker.sh) for the Kafka tests and
 * hands its address to them in TCPREUSE_KAFKA_BROKERS (its SASL and TLS listeners in
 * TCPREUSE_KAFKA_SASL_* and TCPREUSE_KAFKA_SSL_*). An address already set there is used as is. Without Java the Kafka tests skip loudly, except in CI, where that is a failure.
 */
export default function globalSetup(): void {
  if (process.env.TCPREUSE_KAFKA_BROKERS) return;
  const root = join(__dirname, '..', '..');
  const hasJava = spawnSync('java', ['-version'], { stdio: 'ignore' }).status === 0;
  if (!hasJava) {
    const why = 'java not found: the Kafka broker cannot start';
    if (process.env.CI) throw new Error(`${why} (CI must run the Kafka tests; .ci/run installs Java)`);
    process.env.TCPREUSE_KAFKA_SKIP = why;
    process.stderr.write(`\n\n*** SKIPPING KAFKA TESTS: ${why} ***\n\n`);
    return;
  }
  const out = execFileSync('bash', [join(root, 'docker', 'kafka', 'broker.sh'), 'start'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, TCPREUSE_KAFKA_OWNER_PID: String(process.pid) },
  });
  const get = (k: string): string => /^(\w+)=(.*)$/m.exec(out.split('\n').find((l) => l.startsWith(k + '=')) ?? '')?.[2] ?? '';
  process.env.TCPREUSE_KAFKA_BROKERS = get('bootstrap');
  process.env.TCPREUSE_KAFKA_DIR = get('dir');
  // The same broker's secured listeners, for the SASL and TLS tests.
  process.env.TCPREUSE_KAFKA_SASL_BROKERS = get('sasl_bootstrap');
  process.env.TCPREUSE_KAFKA_SASL_USER = get('sasl_user');
  process.env.TCPREUSE_KAFKA_SASL_PASSWORD = get('sasl_password');
  process.env.TCPREUSE_KAFKA_SSL_BROKERS = get('ssl_bootstrap');
  process.env.TCPREUSE_KAFKA_SSL_CA = get('ssl_ca');
  startRegistry(root);
}

/** The real Schema Registry (docker/registry/registry.sh: Apicurio, Confluent-compatible API) in TCPREUSE_REGISTRY_URL. */
function startRegistry(root: string): void {
  if (process.env.TCPREUSE_REGISTRY_URL) return;
  const out = execFileSync('bash', [join(root, 'docker', 'registry', 'registry.sh'), 'start'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, TCPREUSE_REGISTRY_OWNER_PID: String(process.pid) },
  });
  process.env.TCPREUSE_REGISTRY_URL = /^url=(.*)$/m.exec(out)?.[1] ?? '';
  process.env.TCPREUSE_REGISTRY_DIR = /^dir=(.*)$/m.exec(out)?.[1] ?? '';
}
