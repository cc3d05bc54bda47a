// A keyed work queue with client-go's semantics: a key waits in the queue at most once (adds are
// de-duplicated), a key is never processed twice at the same time (an add during processing is
// kept and handed out again after `done`), failures back off per key exponentially, and keys can be
// added after a delay. Workers come from a `WorkerPool` (see `runWorkers`).
import { Fifo } from '../fifo.ts';
import { backoffDelay, type BackoffPolicy } from './backoff.ts';
import { WorkerPool } from './worker-pool.ts';

/** controller-runtime's default per-item backoff: 5 ms doubling up to 1000 s, no jitter. */
export const ITEM_BACKOFF: BackoffPolicy = { initialMs: 5, maxMs: 1_000_000, factor: 2, jitter: 0 };

/** Observations for metrics (workqueue_* series); every hook is optional. */
export interface WorkQueueHooks {
  added?(key: string): void;
  started?(key: string, waitedMs: number): void;
  finished?(key: string, workedMs: number): void;
  retried?(key: string): void;
}

export class WorkQueue {
  private readonly queue = new Fifo<string>();
  private readonly dirty = new Set<string>();
  private readonly processing = new Map<string, number>();
  private readonly enqueuedAt = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly listeners = new Set<() => void>();
  private shuttingDown = false;
  private readonly backoff: BackoffPolicy;
  private readonly hooks: WorkQueueHooks;
  private readonly now: () => number;

  constructor(options: { backoff?: BackoffPolicy; hooks?: WorkQueueHooks; now?: () => number } = {}) {
    this.backoff = options.backoff ?? ITEM_BACKOFF;
    this.hooks = options.hooks ?? {};
    this.now = options.now ?? (() => performance.now());
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.enqueuedAt.set(key, this.now());
    this.hooks.added?.(key);
    if (this.processing.has(key)) return;
    this.queue.push(key);
    for (const listener of this.listeners) listener();
  }

  /** Adds `key` after `delayMs`; of several pending delays for one key the earliest wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    // client-go counts every delayed add as a retry (rate-limited requeues and RequeueAfter alike).
    this.hooks.retried?.(key);
    const at = this.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Re-adds a key that failed, after its per-key backoff; returns the delay. */
  addRateLimited(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const delay = backoffDelay(failures + 1, this.backoff);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the failure count of a key (after a success). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failureCount(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key to work on, or undefined when none is ready. Call `done(key)` when finished. */
  get(): string | undefined {
    const key = this.queue.shift();
    if (key === undefined) return undefined;
    this.dirty.delete(key);
    const now = this.now();
    this.processing.set(key, now);
    this.hooks.started?.(key, now - (this.enqueuedAt.get(key) ?? now));
    this.enqueuedAt.delete(key);
    return key;
  }

  done(key: string): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    this.hooks.finished?.(key, this.now() - started);
    if (this.dirty.has(key) && !this.shuttingDown) {
      this.queue.push(key);
      for (const listener of this.listeners) listener();
    }
  }

  /** Keys waiting (not counting those in progress or delayed). */
  get length(): number {
    return this.queue.length;
  }

  get inProgress(): number {
    return this.processing.size;
  }

  /** Seconds of work in progress not yet done, and the longest single one (workqueue_unfinished_work_seconds …). */
  unfinishedWork(): { totalSeconds: number; longestSeconds: number } {
    const now = this.now();
    let totalSeconds = 0;
    let longestSeconds = 0;
    for (const started of this.processing.values()) {
      const seconds = (now - started) / 1000;
      totalSeconds += seconds;
      longestSeconds = Math.max(longestSeconds, seconds);
    }
    return { totalSeconds, longestSeconds };
  }

  /** Calls `listener` whenever a key becomes ready; returns an unsubscribe function. */
  onReady(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops accepting keys and drops waiting and delayed ones; keys in progress may still call `done`. */
  shutDown(): void {
    this.shuttingDown = true;
    this.queue.drain();
    this.dirty.clear();
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }
}

/** What a reconcile asks for after succeeding: nothing, or another look after a delay. */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

export type Reconcile = (key: string) => Promise<ReconcileResult | void>;

export interface Workers {
  /** Resolves when no reconcile is running (after `stop`, when in-flight work has finished). */
  drain(): Promise<void>;
  /** Takes no new keys; in-flight reconciles run to completion. */
  stop(): void;
  readonly active: number;
}

/**
 * Hands keys from `queue` to at most `concurrency` concurrent reconciles, not counting those parked
 * in `parkWhile` (worker-pool.ts) waiting for a push. A reconcile that throws
 * is retried with the key's backoff (`onError` sees the error); one that succeeds resets the backoff
 * and may ask to be requeued after a delay.
 */
export function runWorkers(
  queue: WorkQueue,
  concurrency: number,
  reconcile: Reconcile,
  onError: (key: string, error: unknown) => void = () => {},
): Workers {
  let stopped = false;
  const pool: WorkerPool = new WorkerPool({ concurrency, onSlotFree: () => pump() });
  const pump = () => {
    while (!stopped && pool.hasFreeSlot()) {
      const key = queue.get();
      if (key === undefined) return;
      void pool.run(async () => {
        try {
          const result = await reconcile(key);
          queue.forget(key);
          if (result?.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
        } catch (error) {
          onError(key, error);
          queue.addRateLimited(key);
        } finally {
          queue.done(key);
        }
      });
    }
  };
  const unsubscribe = queue.onReady(pump);
  pump();
  return {
    drain: () => pool.drain(),
    stop: () => {
      stopped = true;
      unsubscribe();
    },
    get active() {
      return pool.active;
    },
  };
}
