// A restartable informer around client-node's ListWatch.
//
// client-node's informer relists on 410 and reconnects after normal closes and client timeouts, but
// on any other failure (connection refused, 5xx, 403, a failing list) it emits `error` and stops for
// good. This wrapper restarts it with capped exponential backoff, keeps the last resourceVersion (so
// a restart resumes the watch instead of relisting), isolates handlers (a throwing handler would
// otherwise become an unhandled rejection) and reports sync and health for readiness probes.
import { ListWatch, Watch } from '@kubernetes/client-node';
import type { Informer, KubeConfig, KubernetesObject, ListPromise, ObjectCache } from '@kubernetes/client-node';
import { backoffDelay, DEFAULT_BACKOFF } from './backoff.ts';
import { apiErrorCode, apiErrorStatus } from './client.ts';
import type { BackoffPolicy } from './backoff.ts';

export type InformerEvent = 'add' | 'update' | 'delete';
export type InformerHandler<T> = (obj: T) => void;

/** What the wrapper needs from the underlying informer (client-node's ListWatch provides it). */
export type UnderlyingInformer<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

export interface RestartableInformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** Watch path, e.g. `/apis/packagevariant.dev/v1alpha1/namespaces/ns/packagevariants`. */
  path: string;
  /** Lists the same collection as `path` (used for the initial list and relists after 410). */
  list: ListPromise<T>;
  labelSelector?: string;
  backoff?: BackoffPolicy;
  /** Called for every failure of the list/watch, with the delay before the next attempt. */
  onError?: (err: unknown, retryInMs: number) => void;
  /** Called when an event handler throws; the informer carries on. */
  onHandlerError?: (err: unknown, event: InformerEvent) => void;
  /** Builds the underlying informer; defaults to client-node's ListWatch (tests inject a fake). */
  create?: () => UnderlyingInformer<T>;
}

export interface InformerHealth {
  /** start() was called and stop() was not. */
  running: boolean;
  /** The initial list has completed at least once; the cache holds a full picture (possibly stale). */
  synced: boolean;
  /** The last (re)start succeeded and no failure has been seen since. */
  watching: boolean;
  /** Failures since the last successful (re)start. */
  consecutiveFailures: number;
  /** Restarts after failures since start(). */
  restarts: number;
  /** (Re)connections of the list/watch since construction, including ListWatch's own reconnects. */
  connects: number;
  lastError?: string;
  lastErrorAt?: Date;
}

export class RestartableInformer<T extends KubernetesObject> {
  readonly #inner: UnderlyingInformer<T>;
  readonly #handlers: Record<InformerEvent, InformerHandler<T>[]> = { add: [], update: [], delete: [] };
  readonly #backoff: BackoffPolicy;
  readonly #onError: ((err: unknown, retryInMs: number) => void) | undefined;
  readonly #onHandlerError: ((err: unknown, event: InformerEvent) => void) | undefined;
  #running = false;
  #synced = false;
  #watching = false;
  #failures = 0;
  #restarts = 0;
  #connects = 0;
  #errorSeq = 0;
  #lastError: string | undefined;
  #lastErrorAt: Date | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #syncWaiters: (() => void)[] = [];

  constructor(options: RestartableInformerOptions<T>) {
    this.#inner =
      options.create?.() ??
      new ListWatch<T>(options.path, new Watch(options.kubeConfig), options.list, false, options.labelSelector);
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#onError = options.onError;
    this.#onHandlerError = options.onHandlerError;
    for (const event of ['add', 'update', 'delete'] as const) {
      this.#inner.on(event, (obj: T) => this.#dispatch(event, obj));
    }
    this.#inner.on('error', (err?: unknown) => this.#failed(err));
    this.#inner.on('connect', () => this.#connects++);
  }

  /** Handlers should only record or enqueue; they run synchronously on the watch stream. */
  on(event: InformerEvent, handler: InformerHandler<T>): void {
    this.#handlers[event].push(handler);
  }

  off(event: InformerEvent, handler: InformerHandler<T>): void {
    const list = this.#handlers[event];
    const index = list.indexOf(handler);
    if (index >= 0) list.splice(index, 1);
  }

  /** Starts listing and watching; resolves after the first attempt (successful or not). */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#restarts = 0;
    await this.#attempt();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#watching = false;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    await this.#inner.stop();
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves once synced; rejects after `timeoutMs`. */
  waitForSync(timeoutMs = 30_000): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#syncWaiters = this.#syncWaiters.filter((w) => w !== done);
        reject(new Error(`informer not synced after ${timeoutMs} ms${this.#lastError ? `: ${this.#lastError}` : ''}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#syncWaiters.push(done);
    });
  }

  health(): InformerHealth {
    return {
      running: this.#running,
      synced: this.#synced,
      watching: this.#watching,
      consecutiveFailures: this.#failures,
      restarts: this.#restarts,
      connects: this.#connects,
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError }),
      ...(this.#lastErrorAt === undefined ? {} : { lastErrorAt: this.#lastErrorAt }),
    };
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#inner.get(name, namespace);
  }

  list(namespace?: string): ReadonlyArray<T> {
    return this.#inner.list(namespace);
  }

  async #attempt(): Promise<void> {
    const errorsBefore = this.#errorSeq;
    try {
      // ListWatch reports list and watch failures through `error` before start() resolves.
      await this.#inner.start();
    } catch (err) {
      this.#failed(err);
      return;
    }
    if (!this.#running || this.#errorSeq !== errorsBefore) return;
    this.#watching = true;
    this.#failures = 0;
    if (!this.#synced) {
      this.#synced = true;
      const waiters = this.#syncWaiters;
      this.#syncWaiters = [];
      for (const waiter of waiters) waiter();
    }
  }

  #failed(err: unknown): void {
    this.#errorSeq++;
    this.#watching = false;
    this.#failures++;
    this.#lastError = describeError(err);
    this.#lastErrorAt = new Date();
    if (!this.#running || this.#retryTimer) return;
    const delay = backoffDelay(this.#failures, this.#backoff);
    try {
      this.#onError?.(err, delay);
    } catch {
      // a broken logger must not stop the retries
    }
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#running) return;
      this.#restarts++;
      void this.#attempt();
    }, delay);
  }

  #dispatch(event: InformerEvent, obj: T): void {
    for (const handler of this.#handlers[event]) {
      try {
        const result: unknown = handler(obj);
        if (result instanceof Promise) result.catch((err: unknown) => this.#handlerFailed(err, event));
      } catch (err) {
        this.#handlerFailed(err, event);
      }
    }
  }

  #handlerFailed(err: unknown, event: InformerEvent): void {
    try {
      this.#onHandlerError?.(err, event);
    } catch {
      // nothing sensible left to do
    }
  }
}

/** One line: `429 storage is (re)initializing`, `ECONNREFUSED connect ECONNREFUSED 127.0.0.1:6443`. */
export function describeError(err: unknown): string {
  const code = apiErrorCode(err);
  if (code !== undefined) return `${code} ${apiErrorStatus(err)?.message ?? 'API error'}`;
  if (err instanceof Error) {
    const status = (err as { statusCode?: unknown; code?: unknown }).statusCode ?? (err as { code?: unknown }).code;
    const cause = (err as { cause?: unknown }).cause;
    const causeText = cause instanceof Error ? `: ${cause.message}` : '';
    return `${status === undefined ? '' : `${String(status)} `}${err.message}${causeText}`;
  }
  return String(err);
}
