// Kubernetes MicroTime (Lease acquireTime/renewTime, events.k8s.io eventTime): RFC 3339 with exactly
// six fractional digits. The API server rejects the three digits a plain Date serializes to.
import { V1MicroTime } from '@kubernetes/client-node';

const MICRO_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** A `V1MicroTime` for `date` (default: now); client-node serializes it with 6 fractional digits. */
export function microTime(date: Date | number = Date.now()): V1MicroTime {
  return new V1MicroTime(typeof date === 'number' ? date : date.getTime());
}

/** `2026-01-02T03:04:05.678000Z`: the wire form of a MicroTime. */
export function formatMicroTime(date: Date | number): string {
  const iso = new Date(typeof date === 'number' ? date : date.getTime()).toISOString();
  return `${iso.slice(0, -1)}000Z`;
}

/**
 * Parses a MicroTime as read from the API server (a string; client-node does not revive it) or a
 * Date. Digits beyond milliseconds are dropped, since a Date cannot hold them.
 */
export function parseMicroTime(value: string | Date): Date {
  if (value instanceof Date) return new Date(value.getTime());
  const match = MICRO_TIME.exec(value);
  if (!match) throw new Error(`not a Kubernetes MicroTime: ${JSON.stringify(value)}`);
  const [, seconds, fraction = '', zone] = match;
  const millis = fraction.padEnd(3, '0').slice(0, 3);
  const date = new Date(`${seconds}.${millis}${zone}`);
  if (Number.isNaN(date.getTime())) throw new Error(`not a Kubernetes MicroTime: ${JSON.stringify(value)}`);
  return date;
}
