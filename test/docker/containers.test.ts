import { execFile, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TcpReuseEvent } from '../../src/model/events';
import { cli, describeKafka, kafka, readTopic, uniqueName, BROKERS } from '../helpers/kafka';
import { ROOT } from '../helpers/run';

/**
 * The container images, built and run with a real container engine (podman; these machines have
 * no Docker engine and reach no image registry, so docker/podman/standins.sh builds the base image
 * the Dockerfiles name, and docker/podman/podman.sh runs podman the way this VM allows): the
 * consumer image against the test broker, `analyze` from the image on a mounted capture, the
 * Node-RED image loading the palette, and docker/compose.yaml checked by a compose implementation.
 */
const run = promisify(execFile);
const HAS_PODMAN = spawnSync('podman', ['--version'], { stdio: 'ignore' }).status === 0;
if (!HAS_PODMAN) {
  if (process.env.CI) throw new Error('podman is missing: CI must run the container test (.ci/run installs podman and mmdebstrap)');
  process.stderr.write('\n*** SKIPPING the container test: podman not installed (apt-get install podman mmdebstrap) ***\n');
}
const describePodman = HAS_PODMAN && BROKERS ? describeKafka : describe.skip;

const TAG = `t${process.pid}`;
const IMAGE = `localhost/tcpreuse:${TAG}`;
const NODE_RED_IMAGE = `localhost/tcpreuse-node-red:${TAG}`;
const podman = (args: string[], timeout = 600_000) => run('bash', [join(ROOT, 'docker', 'podman', 'podman.sh'), ...args], { cwd: ROOT, maxBuffer: 1 << 28, timeout });
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function until<T>(what: string, f: () => Promise<T | null | undefined | false>, ms = 60_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f().catch(() => null);
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const sizeMB = async (image: string): Promise<number> => Number((await podman(['image', 'inspect', image, '--format', '{{.Size}}'])).stdout.trim()) / 1e6;

beforeAll(async () => {
  if (!HAS_PODMAN || !BROKERS) return;
  await run('bash', [join(ROOT, 'docker', 'podman', 'standins.sh')], { cwd: ROOT, maxBuffer: 1 << 26 });
  // HEALTHCHECK is kept only in the docker image format (OCI has no field for it).
  await podman(['build', '--quiet', '--isolation=chroot', '--format', 'docker', '-f', 'docker/Dockerfile', '-t', IMAGE, '.']);
  await podman(['build', '--quiet', '--isolation=chroot', '--format', 'docker', '-f', 'docker/node-red/Dockerfile', '-t', NODE_RED_IMAGE, '.']);
}, 1_200_000);

afterAll(async () => {
  if (HAS_PODMAN && BROKERS) await podman(['rmi', '-f', IMAGE, NODE_RED_IMAGE]).catch(() => undefined);
});

describePodman('container images (podman)', () => {
  test('the consumer image: small, non-root, tcpreuse as the entry point, a health check on /healthz', async () => {
    const [image] = JSON.parse((await podman(['image', 'inspect', IMAGE])).stdout) as { Config: { User: string; Entrypoint: string[] }; Healthcheck?: { Test: string[] } }[];
    expect(image.Config.User).toBe('node');
    expect(image.Config.Entrypoint).toEqual(['tcpreuse']);
    expect(image.Healthcheck?.Test.join(' ')).toMatch(/\/healthz/);
    const [ours, base] = [await sizeMB(IMAGE), await sizeMB('docker.io/library/node:20-bookworm-slim')];
    process.stdout.write(`consumer image ${ours.toFixed(0)} MB, of which ${(ours - base).toFixed(0)} MB on top of the node base image\n`);
    expect(ours - base).toBeLessThan(60);
    const version = (await podman(['run', '--rm', IMAGE, '--version'])).stdout.trim();
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
  });

  test('tcpreuse analyze from the image on a mounted capture prints what the CLI prints here', async () => {
    const inImage = (await podman(['run', '--rm', '-v', `${join(ROOT, 'samples')}:/data:ro`, IMAGE, 'analyze', '/data/sample.pcap', '--json'])).stdout;
    const here = (await run(process.execPath, [CLI, 'analyze', join(ROOT, 'samples', 'sample.pcap'), '--json'], { maxBuffer: 1 << 26 })).stdout;
    expect(inImage.length).toBeGreaterThan(1000);
    expect(inImage).toBe(here);
  });

  /** Replays the sample to a fresh topic; the consumer's settings for it, as TCPREUSE_* variables. */
  async function consumeSetup(id: string): Promise<{ env: Record<string, string>; port: number }> {
    await cli(['replay', join(ROOT, 'samples', 'sample.pcap'), '--topic', `${id}.in`, '--partitions', '3', '--log-level', 'warn']);
    const port = await freePort();
    const env = {
      TCPREUSE_BROKERS: BROKERS!,
      TCPREUSE_TOPIC: `${id}.in`,
      TCPREUSE_GROUP: `${id}.g`,
      TCPREUSE_FLOWS_TOPIC: `${id}.flows`,
      TCPREUSE_ALERTS_TOPIC: `${id}.alerts`,
      TCPREUSE_DLQ_TOPIC: `${id}.dlq`,
      TCPREUSE_SENSOR: 'cap',
      TCPREUSE_METRICS_PORT: String(port),
    };
    return { env, port };
  }

  async function expectAllCommitted(id: string): Promise<void> {
    const admin = kafka().admin();
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(`${id}.in`);
      const [committed] = await admin.fetchOffsets({ groupId: `${id}.g`, topics: [`${id}.in`] });
      for (const p of ends) expect(committed.partitions.find((c) => c.partition === p.partition)?.offset).toBe(p.high);
    } finally {
      await admin.disconnect();
    }
  }

  const analyzeJson = async (): Promise<TcpReuseEvent[]> =>
    (await run(process.execPath, [CLI, 'analyze', join(ROOT, 'samples', 'sample.pcap'), '--json', '--sensor', 'cap'], { maxBuffer: 1 << 26 })).stdout
      .trim().split('\n').map((l) => JSON.parse(l) as TcpReuseEvent);
  const canonical = (events: unknown[]) => events.map((e) => JSON.stringify(e)).sort();
  const isFlow = (e: TcpReuseEvent) => e.type === 'flow.open' || e.type === 'flow.close';

  test('consume --until-end in the container writes exactly the events of analyze --json, exits 0, offsets committed', async () => {
    const id = uniqueName('ctrend');
    const { env } = await consumeSetup(id);
    const name = `tcpreuse-end-${id.replace(/\W/g, '-')}`;
    try {
      await podman(['run', '--name', name, ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), IMAGE, 'consume', '--until-end']);
      expect((await podman(['inspect', name, '--format', '{{.State.ExitCode}}'])).stdout.trim()).toBe('0');
      const want = await analyzeJson();
      const [flows, alerts] = [await readTopic(`${id}.flows`), await readTopic(`${id}.alerts`)];
      expect(canonical(flows.map((m) => JSON.parse(m.value.toString())))).toEqual(canonical(want.filter(isFlow)));
      expect(canonical(alerts.map((m) => JSON.parse(m.value.toString())))).toEqual(canonical(want.filter((e) => !isFlow(e))));
      await expectAllCommitted(id);
    } finally {
      await podman(['rm', '-f', name]).catch(() => undefined);
    }
  });

  test('consume as a scaled service in the container: healthy on /healthz and by the image\'s HEALTHCHECK, live events out, SIGTERM checkpoints and stops it (exit 0, every offset committed)', async () => {
    const id = uniqueName('ctrsvc');
    const setup = await consumeSetup(id);
    // Scaled (--app-id, the group's name): a graceful stop checkpoints every partition, so every offset is committed.
    const env = { ...setup.env, TCPREUSE_APP_ID: `${id}.g` };
    const port = setup.port;
    const name = `tcpreuse-svc-${id.replace(/\W/g, '-')}`;
    const logs = async (): Promise<string> => ((r) => r.stdout + r.stderr)(await podman(['logs', name]).catch((e: { stdout: string; stderr: string }) => e));
    await podman(['run', '-d', '--name', name, ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), IMAGE, 'consume']);
    try {
      const health = await until('/healthz', async () => {
        const r = await fetch(`http://127.0.0.1:${port}/healthz`);
        return r.ok ? ((await r.json()) as { ok: boolean }) : null;
      });
      expect(health.ok).toBe(true);
      // The image's own HEALTHCHECK, run by the engine (exit 0: healthy).
      await until('the image health check', async () => {
        await podman(['healthcheck', 'run', name]);
        return true;
      });
      // Live, every connection's flow.open goes out (the closes of flows still open wait for their
      // timeouts); scaled mode numbers streams per partition, so they are left out of the comparison.
      const withoutStream = (e: TcpReuseEvent) => ({ ...e, stream: null });
      const opens = (await analyzeJson()).filter((e) => e.type === 'flow.open').map(withoutStream);
      const got = await until('the flow.open events', async () => {
        const events = (await readTopic(`${id}.flows`)).map((m) => JSON.parse(m.value.toString()) as TcpReuseEvent).filter((e) => e.type === 'flow.open');
        return events.length >= opens.length ? events : null;
      });
      expect(canonical(got.map(withoutStream))).toEqual(canonical(opens));
      // podman stop sends SIGTERM (the exec-form entry point: to node itself).
      const t0 = Date.now();
      await podman(['stop', '-t', '30', name]);
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect((await podman(['inspect', name, '--format', '{{.State.ExitCode}}'])).stdout.trim()).toBe('0');
      expect(await logs()).toMatch(/"msg":"stopped"/);
      await expectAllCommitted(id);
    } catch (err) {
      throw new Error(`${(err as Error).message}\ncontainer log:\n${(await logs()).slice(-3000)}`);
    } finally {
      await podman(['rm', '-f', name]).catch(() => undefined);
    }
  });

  test('the Node-RED image starts Node-RED 4.1 with every node of the palette loaded and the example flows in /data', async () => {
    const port = await freePort();
    const name = `tcpreuse-node-red-${process.pid}`;
    await podman(['run', '-d', '--name', name, NODE_RED_IMAGE, '--port', String(port)]);
    try {
      const nodes = await until('Node-RED', async () => {
        const r = await fetch(`http://127.0.0.1:${port}/nodes`, { headers: { accept: 'application/json' } });
        return r.ok ? ((await r.json()) as { module: string; types: string[]; err?: string }[]) : null;
      }, 120_000);
      const ours = nodes.filter((n) => n.module === '@tcpreuse/node-red-tcpreuse');
      expect(ours.filter((n) => n.err)).toEqual([]);
      expect(ours.flatMap((n) => n.types).sort()).toEqual(['tcpreuse-decode', 'tcpreuse-flows', 'tcpreuse-kafka', 'tcpreuse-kafka-in', 'tcpreuse-kafka-out', 'tcpreuse-reuse', 'tcpreuse-siem']);
      const settings = (await (await fetch(`http://127.0.0.1:${port}/settings`)).json()) as { version: string };
      expect(settings.version).toMatch(/^4\.1\./);
      const files = (await podman(['exec', name, 'ls', '/data'])).stdout.split('\n');
      expect(files).toEqual(expect.arrayContaining(['analyze-capture-file.json', 'kafka-pipeline.json']));
    } finally {
      await podman(['rm', '-f', name]).catch(() => undefined);
    }
  });

  test('docker/compose.yaml: valid to a compose implementation, health-gated, building the two Dockerfiles', async () => {
    const target = join(ROOT, '.cache', 'python');
    await run('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', target, '-r', join(ROOT, 'docker', 'podman', 'requirements.txt')]);
    const { stdout } = await run('python3', ['-m', 'podman_compose', '-f', join(ROOT, 'docker', 'compose.yaml'), 'config'], { env: { ...process.env, PYTHONPATH: target } });
    expect(stdout).toMatch(/^name: tcpreuse/m);
    for (const service of ['kafka:', 'registry:', 'replay:', 'tcpreuse:', 'node-red:']) expect(stdout).toContain(`  ${service}`);
    expect(stdout).toMatch(/dockerfile: docker\/Dockerfile/);
    expect(stdout).toMatch(/dockerfile: docker\/node-red\/Dockerfile/);
    expect(stdout.match(/condition: service_healthy/g)?.length).toBeGreaterThanOrEqual(3);
  });
});
