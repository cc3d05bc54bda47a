// The status a reconcile writes: conditions (Porch's types, reasons and messages where they apply),
// observedGeneration, downstreamTargets and how far the published downstream is behind its
// upstream (`upstream`). Written only when it changed.
import {
  RECONCILE_REQUEST_ANNOTATION,
  type DownstreamTarget,
  type PackageVariant,
  type PackageVariantStatus,
  type UpstreamRevisionRef,
  type UpstreamStatus,
} from '../../api/v1alpha1/index.ts';
import type { TrackedRevision } from '../repositories/source.ts';
import type { Observed } from './observe.ts';
import type { ResolvedUpstream } from './upstream.ts';
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
  /** `status.upstream`; when undefined, the one recorded before is kept (as the targets are). */
  upstream?: UpstreamStatus;
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
  const upstream = outcome.upstream ?? previous.upstream;
  const handled = handledRequest(pv);
  return {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions,
    ...(targets ? { downstreamTargets: targets } : {}),
    ...(upstream ? { upstream } : {}),
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

const shortRef = (ref: string) => ref.replace(/^refs\/(heads|tags)\//, '');

/**
 * How many upstream revisions a downstream locked to `lock` lacks, and the first of them: the
 * published revisions after the lock's up to the one followed now when both are published
 * revisions; otherwise (an upstream followed on a branch or ref, a lock that is no published
 * revision, a pin moved back) the one followed now. Only for a lock whose package tree is not the
 * upstream's now.
 */
export function behindOf(
  upstream: Pick<ResolvedUpstream, 'commit' | 'revision'>,
  revisions: readonly TrackedRevision[],
  lock: { commit: string },
): { behind: number; first: string } {
  const locked = revisionAt(revisions, lock.commit);
  const latest = upstream.revision;
  const lacking =
    latest !== undefined && locked?.revision !== undefined
      ? revisions.filter((r) => r.revision! > locked.revision! && r.revision! <= latest)
      : [];
  return lacking.length ? { behind: lacking.length, first: lacking[0]!.commit } : { behind: 1, first: upstream.commit };
}

/** The newest published revision at a commit. */
function revisionAt(revisions: readonly TrackedRevision[], commit: string): TrackedRevision | undefined {
  return revisions.findLast((r) => r.commit === commit);
}

/**
 * `status.upstream` from what observe read: the upstream revision followed now, the one the latest
 * published downstream revision is locked to, and how far behind that is. `publishedLock`: the
 * upstream commit of a revision this reconcile has just published (it is the latest published now).
 * Pure.
 */
export function upstreamStatus(
  observed: Pick<Observed, 'upstream' | 'upstreamHistory' | 'lock'>,
  publishedLock?: string,
): UpstreamStatus {
  const { upstream, lock } = observed;
  const history = observed.upstreamHistory ?? { revisions: [], times: new Map<string, string>() };
  const latest: UpstreamRevisionRef = {
    ref: upstream.lock.ref,
    ...(upstream.revision !== undefined ? { revision: upstream.revision } : {}),
    commit: upstream.commit,
  };
  const published = publishedLock
    ? {
        commit: publishedLock,
        current:
          publishedLock === upstream.commit ||
          (publishedLock === lock?.commit && lock.current) ||
          (publishedLock === history.published?.commit && history.published.current),
        ...(publishedLock === upstream.commit ? { ref: upstream.lock.ref } : {}),
      }
    : history.published;
  if (!published) return { latest };
  const at = revisionAt(history.revisions, published.commit);
  const locked: UpstreamRevisionRef = {
    ...(at ? { ref: shortRef(at.ref) } : published.ref ? { ref: published.ref } : {}),
    ...(at?.revision !== undefined ? { revision: at.revision } : {}),
    commit: published.commit,
  };
  if (published.current) return { latest, locked, behind: 0 };
  const { behind, first } = behindOf(upstream, history.revisions, published);
  const since = history.times.get(first);
  return { latest, locked, behind, ...(since ? { behindSince: since } : {}) };
}
