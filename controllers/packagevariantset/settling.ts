// Sets waiting for their variants to look at an upstream change. Variants notice it one by one; a
// set that decided on the first reports would see later stages waiting while earlier ones still
// look up to date, and release them out of order. (Local mode reconciles every variant before the
// sets for the same reason.) A set settles when each of its pending variants has reconciled and its
// status write, if it made one, has reached the informer cache — or after a timeout.

interface PendingVariant {
  /** The resourceVersion of the variant's status write, once its reconcile finished with one. */
  statusVersion?: string;
  /** resourceVersions the cache has delivered since the variant became pending (and the one it held then). */
  cached: Set<string>;
}

interface Waiting {
  variants: Map<string, PendingVariant>;
  timer: NodeJS.Timeout;
}

export class SetSettling {
  private readonly waiting = new Map<string, Waiting>();
  private readonly timeoutMs: number;
  private readonly onSettled: (setKey: string, timedOut: boolean) => void;
  private readonly cachedVersion: (variantKey: string) => string | undefined;

  /** `cachedVersion` gives the resourceVersion of a variant in the informer cache now. */
  constructor(options: {
    timeoutMs: number;
    onSettled(setKey: string, timedOut: boolean): void;
    cachedVersion(variantKey: string): string | undefined;
  }) {
    this.timeoutMs = options.timeoutMs;
    this.onSettled = options.onSettled;
    this.cachedVersion = options.cachedVersion;
  }

  has(setKey: string): boolean {
    return this.waiting.has(setKey);
  }

  /** The set waits (again) for these variants to reconcile. */
  wait(setKey: string, variantKeys: readonly string[]): void {
    let waiting = this.waiting.get(setKey);
    if (!waiting) {
      const timer = setTimeout(() => this.settle(setKey, true), this.timeoutMs);
      timer.unref();
      waiting = { variants: new Map(), timer };
      this.waiting.set(setKey, waiting);
    }
    for (const key of variantKeys) {
      // A reconcile running now may have written its status already, and the cache delivered it.
      const version = this.cachedVersion(key);
      waiting.variants.set(key, { cached: new Set(version === undefined ? [] : [version]) });
    }
  }

  /** A variant's reconcile finished; `statusVersion` is the resourceVersion of its status write, if any. */
  reconciled(setKey: string, variantKey: string, statusVersion: string | undefined): void {
    const waiting = this.waiting.get(setKey);
    const pending = waiting?.variants.get(variantKey);
    if (!waiting || !pending || pending.statusVersion !== undefined) return;
    // The cache may already have delivered the write, and newer versions after it.
    if (statusVersion === undefined || pending.cached.has(statusVersion)) waiting.variants.delete(variantKey);
    else pending.statusVersion = statusVersion;
    if (!waiting.variants.size) this.settle(setKey, false);
  }

  /** The informer cache delivered this version of a variant. */
  cached(setKey: string, variantKey: string, resourceVersion: string | undefined): void {
    const waiting = this.waiting.get(setKey);
    const pending = waiting?.variants.get(variantKey);
    if (!waiting || !pending || resourceVersion === undefined) return;
    if (pending.statusVersion === resourceVersion) {
      waiting.variants.delete(variantKey);
      if (!waiting.variants.size) this.settle(setKey, false);
    } else if (pending.statusVersion === undefined) {
      pending.cached.add(resourceVersion);
    }
  }

  clear(): void {
    for (const { timer } of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
  }

  private settle(setKey: string, timedOut: boolean): void {
    const waiting = this.waiting.get(setKey);
    if (!waiting) return;
    clearTimeout(waiting.timer);
    this.waiting.delete(setKey);
    this.onSettled(setKey, timedOut);
  }
}
