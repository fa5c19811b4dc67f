import type { TcpReuseEvent } from '../model/events';
import { toCef } from './cef';
import { toEcs } from './ecs';
import { toOcsf } from './ocsf';

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

/** The event in `format` (JSON text for ECS and OCSF, one line for CEF), or null when the format has no place for it. */
export function formatEvent(format: SiemFormat, e: TcpReuseEvent): FormattedEvent | null {
  switch (format) {
    case 'ecs':
      return { text: JSON.stringify(toEcs(e)), truncated: false };
    case 'ocsf': {
      const doc = toOcsf(e);
      return doc === null ? null : { text: JSON.stringify(doc), truncated: false };
    }
    case 'cef': {
      const c = toCef(e);
      return c === null ? null : { text: c.line, truncated: c.truncated };
    }
  }
}
