import type { TcpReuseEvent } from '../model/events';
import { ByteWriter } from '../util/byte-writer';
import { isCefAlert, toCef } from './cef';
import { writeEcsJson } from './ecs-json';
import { hasOcsfClass } from './ocsf';
import { writeOcsfJson } from './ocsf-json';

/** The SIEM schemas events can be written in, beside tcpreuse's own JSON and Avro. */
export const SIEM_FORMATS = ['ecs', 'ocsf', 'cef'] as const;
export type SiemFormat = (typeof SIEM_FORMATS)[number];

export const isSiemFormat = (f: string): f is SiemFormat => (SIEM_FORMATS as readonly string[]).includes(f);

/** What each format carries (for --help and the docs): the rest has no place in it and is skipped, counted. */
export const SIEM_FORMAT_CARRIES: Record<SiemFormat, string> = {
  ecs: 'every event',
  ocsf: 'flow.open/flow.close (Network Activity) and port.reuse/cycle/pressure (Detection Finding)',
  cef: 'port.reuse, port.cycle and port.pressure',
};

export interface FormattedEvent {
  readonly text: string;
  /** CEF only: the line was shortened to fit the syslog line limit. */
  readonly truncated: boolean;
}

/** The JSON document formats, written as bytes straight into a buffer (the consumer's outbox, stdout's chunk). */
export type SiemJsonFormat = Exclude<SiemFormat, 'cef'>;
export const isSiemJsonFormat = (f: string): f is SiemJsonFormat => f === 'ecs' || f === 'ocsf';

/** Whether `format` has a place for the event (events without one are counted and skipped). */
export function hasPlaceIn(format: SiemFormat, e: TcpReuseEvent): boolean {
  if (format === 'ecs') return true;
  if (format === 'ocsf') return hasOcsfClass(e);
  return isCefAlert(e);
}

/** The writer of a JSON document format's UTF-8 text: only for events the format has a place for. */
export const SIEM_JSON_WRITERS: Record<SiemJsonFormat, (w: ByteWriter, e: TcpReuseEvent) => void> = { ecs: writeEcsJson, ocsf: writeOcsfJson };

const scratch = new ByteWriter(8192);

/** The event in `format` (JSON text for ECS and OCSF, one line for CEF), or null when the format has no place for it. */
export function formatEvent(format: SiemFormat, e: TcpReuseEvent): FormattedEvent | null {
  if (!hasPlaceIn(format, e)) return null;
  if (format === 'cef') {
    const c = toCef(e)!;
    return { text: c.line, truncated: c.truncated };
  }
  scratch.at = 0;
  SIEM_JSON_WRITERS[format](scratch, e);
  return { text: scratch.buf.toString('utf8', 0, scratch.at), truncated: false };
}
