// What every reconcile of a controller gets, whichever controller it is: a context whose logger
// carries `controller`, `key` and a fresh `reconcileID` on each line and whose signal aborts it at
// shutdown's deadline, its duration, a warning with the next retry when it fails, and
// controller-runtime's reconcile metrics.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { backoffDelay } from '../lib/kube/backoff.ts';
import { describeError } from '../lib/kube/informer.ts';
import { ITEM_BACKOFF, type Reconcile, type ReconcileResult } from '../lib/kube/workqueue.ts';
import type { Metrics, ReconcileOutcome } from '../lib/metrics/metrics.ts';
import type { ReconcileContext } from './context.ts';

export interface InstrumentOptions {
  controller: string;
  /** The controller's logger (it already carries `controller`). */
  log: Logger;
  metrics: Metrics;
  /** Failures so far of a key (for the retry delay in the log line). */
  failureCount(key: string): number;
  /** For a routine failure, the message to log it with at debug level (others are warnings). */
  routine?(error: unknown): string | undefined;
  /** Aborts every running reconcile (the manager's shutdown deadline). */
  signal?: AbortSignal;
}

export function instrumentReconcile(
  options: InstrumentOptions,
  reconcile: (key: string, context: ReconcileContext & { log: Logger }) => Promise<ReconcileResult | void>,
): Reconcile {
  return async (key) => {
    const log = options.log.child({ key, reconcileID: randomUUID() });
    const signal = options.signal ?? new AbortController().signal;
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    const durationMs = () => Math.round(seconds() * 1000);
    let outcome: ReconcileOutcome = 'error';
    log.debug('reconcile started');
    try {
      const result = await reconcile(key, { log, signal });
      outcome = result?.requeueAfterMs ? 'requeue_after' : 'success';
      log.debug({ durationMs: durationMs(), ...(result ?? {}) }, 'reconcile finished');
      return result;
    } catch (error) {
      const retryInMs = backoffDelay(options.failureCount(key) + 1, ITEM_BACKOFF);
      const fields = { durationMs: durationMs(), retryInMs, err: describeError(error) };
      const routine = options.routine?.(error);
      if (routine) log.debug(fields, routine);
      else log.warn(fields, 'reconcile failed; retrying');
      throw error;
    } finally {
      options.metrics.reconciled(options.controller, outcome, seconds());
    }
  };
}
