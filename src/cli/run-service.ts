import { serveMetrics, type Metrics } from '../kafka/metrics';
import type { Logger } from '../util/logger';

/** What `consume` and `repartition` run: a service that consumes until stopped, the input ends, or it fails. */
export interface RunnableService {
  run(): Promise<object>;
  stop(reason: string): void;
  healthStatus(): { ok: boolean; status: string; reason?: string };
}

const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs a long-lived Kafka service as a command: /metrics and /healthz (unless `metricsPort` is
 * null), graceful stop on signals, one summary line at the end, exit status 0 or 1.
 */
export async function runService(service: RunnableService, metrics: Metrics, o: { log: Logger; metricsPort: number | null; name: string }): Promise<number> {
  const { log } = o;
  let server: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  if (o.metricsPort !== null) {
    server = await serveMetrics(metrics, () => service.healthStatus(), o.metricsPort);
    log.info('metrics endpoint', { url: `http://0.0.0.0:${server.port}/metrics`, health: `http://0.0.0.0:${server.port}/healthz` });
  }
  const onSignal = (sig: NodeJS.Signals): void => service.stop(sig);
  // SIGHUP too (a closed terminal, a supervisor's stop): Node's default would end the process
  // without leaving the group, and the restarted one would wait out the session timeout.
  for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
  try {
    const { consumingS = null, ...summary } = (await service.run()) as { consumingS?: number | null; packets: number };
    // With --until-end: how long the consuming itself took, and the rate it ran at.
    const rate = consumingS === null ? {} : { consumingS: Math.round(consumingS * 1000) / 1000, packetsPerS: Math.round(summary.packets / Math.max(consumingS, 0.001)) };
    // CPU seconds of the whole process (every thread): what the scaling bench adds up per packet.
    const cpu = process.cpuUsage();
    log.info('stopped', { ...summary, ...rate, cpuS: Math.round((cpu.user + cpu.system) / 1000) / 1000 });
    // Everything is written and committed: a client library's leftover reconnect timer (seen after
    // a broker restart) must not keep the process alive.
    setTimeout(() => process.exit(0), 5000).unref();
    return 0;
  } catch (err) {
    log.error('consumer failed', { error: err as Error });
    process.stderr.write(`tcpreuse: ${o.name} failed: ${(err as Error).message}\n`);
    // A fatal error ends the process (a supervisor restarts it), even if a client library still
    // holds a timer or socket open: it must not live on as a member of the group that does nothing.
    setTimeout(() => process.exit(1), 2000).unref();
    return 1;
  } finally {
    for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
    server?.server.close();
  }
}
