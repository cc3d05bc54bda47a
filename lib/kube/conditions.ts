// metav1.Condition helpers with upsert semantics: lastTransitionTime changes only when the status
// flips, and observedGeneration is recorded on every write.
import type { Condition } from '../../api/v1alpha1/index.ts';

export type ConditionStatus = Condition['status'];

export interface ConditionUpdate {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/** Returns new conditions with `update` applied; `now` is an RFC 3339 timestamp (seconds precision). */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  observedGeneration: number | undefined,
  now: string = rfc3339Now(),
): Condition[] {
  const existing = conditions?.find((c) => c.type === update.type);
  const next: Condition = {
    ...update,
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
    lastTransitionTime: existing && existing.status === update.status ? existing.lastTransitionTime : now,
  };
  const others = (conditions ?? []).filter((c) => c.type !== update.type);
  return [...others, next].sort((a, b) => a.type.localeCompare(b.type));
}

/** What an outcome says for each of the kstatus conditions both kinds write. */
export interface KstatusOutcome {
  /** Set when a person must act (Stalled True with this reason and message). */
  stalled?: { reason: string; message: string };
  ready: Omit<ConditionUpdate, 'type'>;
  reconciling: Omit<ConditionUpdate, 'type'>;
}

/**
 * Stalled, Ready and Reconciling for one outcome, as every reconciler of this project writes them
 * (Porch's Stalled and Ready, plus kstatus's Reconciling); messages capped at `maxMessage`.
 */
export function setKstatusConditions(
  conditions: readonly Condition[] | undefined,
  outcome: KstatusOutcome,
  observedGeneration: number | undefined,
  now?: string,
  maxMessage = Infinity,
): Condition[] {
  const cap = (message: string) => capMessage(message, maxMessage);
  const updates: ConditionUpdate[] = [
    outcome.stalled
      ? { type: 'Stalled', status: 'True', reason: outcome.stalled.reason, message: cap(outcome.stalled.message) }
      : { type: 'Stalled', status: 'False', reason: 'Valid', message: 'all validation checks passed' },
    { type: 'Ready', ...outcome.ready, message: cap(outcome.ready.message) },
    { type: 'Reconciling', ...outcome.reconciling, message: cap(outcome.reconciling.message) },
  ];
  return updates.reduce<Condition[]>(
    (current, update) => setCondition(current, update, observedGeneration, now),
    [...(conditions ?? [])],
  );
}

const TRUNCATED = '… (truncated)';
/** A condition message no longer than `max` characters (the API's limit is 32 KiB). */
export function capMessage(message: string, max: number): string {
  return message.length <= max ? message : message.slice(0, max - TRUNCATED.length) + TRUNCATED;
}

export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'True';
}

/** The API server stores metav1.Time with seconds precision; write it that way so equality holds after a round trip. */
export function rfc3339Now(date: Date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
