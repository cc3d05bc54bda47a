// The status a reconcile writes: conditions (Porch's types, reasons and messages where they apply),
// observedGeneration and downstreamTargets. Written only when it changed.
import {
  RECONCILE_REQUEST_ANNOTATION,
  type DownstreamTarget,
  type PackageVariant,
  type PackageVariantStatus,
} from '../../api/v1alpha1/index.ts';
import { isDeepStrictEqual } from 'node:util';
import { setKstatusConditions } from '../../lib/kube/conditions.ts';

export const READY = 'Ready';
export const STALLED = 'Stalled';
export const RECONCILING = 'Reconciling';

export interface Outcome {
  /**
   * `ready`: downstream ensured; `stalled`: the spec or its surroundings need a person; `error`:
   * retried; `suspended`: observed, nothing written (spec.suspend, or its set's).
   */
  kind: 'ready' | 'stalled' | 'error' | 'suspended';
  reason: string;
  message: string;
  targets?: DownstreamTarget[];
}

export function nextStatus(pv: PackageVariant, outcome: Outcome, now?: string): PackageVariantStatus {
  const generation = pv.metadata?.generation;
  const previous = pv.status ?? {};
  const conditions = setKstatusConditions(
    previous.conditions,
    {
      ...(outcome.kind === 'stalled' ? { stalled: outcome } : {}),
      ready: { status: outcome.kind === 'ready' ? 'True' : 'False', reason: outcome.reason, message: outcome.message },
      // kstatus: Reconciling is True while the controller is still working towards the spec (retrying).
      reconciling:
        outcome.kind === 'error'
          ? { status: 'True', reason: 'Retrying', message: outcome.message }
          : { status: 'False', reason: outcome.kind === 'ready' ? 'Reconciled' : outcome.reason, message: '' },
    },
    generation,
    now,
  );
  const targets = outcome.targets ?? previous.downstreamTargets;
  const handled = handledRequest(pv);
  return {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions,
    ...(targets ? { downstreamTargets: targets } : {}),
    ...(handled ? { lastHandledReconcileAt: handled } : {}),
  };
}

/** Key order does not matter (the API server may return keys in another order than we wrote them). */
export function statusChanged(before: PackageVariantStatus | undefined, after: PackageVariantStatus): boolean {
  return !isDeepStrictEqual(before ?? {}, after);
}

/**
 * The reconcile request this reconcile handles: the value of the request annotation on the object
 * it read (Flux's `lastHandledReconcileAt`), else the one handled before.
 */
export function handledRequest(obj: {
  metadata?: { annotations?: Record<string, string> };
  status?: { lastHandledReconcileAt?: string };
}): string | undefined {
  return obj.metadata?.annotations?.[RECONCILE_REQUEST_ANNOTATION] ?? obj.status?.lastHandledReconcileAt;
}

/** A request not handled yet: the reconcile fetches git again instead of using what the cache holds. */
export function newRequest(obj: Parameters<typeof handledRequest>[0]): boolean {
  const requested = obj.metadata?.annotations?.[RECONCILE_REQUEST_ANNOTATION];
  return requested !== undefined && requested !== obj.status?.lastHandledReconcileAt;
}
