// Limits of git network commands, process-wide: `pvctl run` and `pvctl reconcile` set them once at
// startup (`--max-push-refs`); library users call `setGitLimits`. Documented in docs/limits.md.

export interface GitLimits {
  /**
   * Ref updates per atomic push (a batch with more is pushed in waves, each atomic). git matches
   * every lease against every ref, so one push of n leases costs ~n² (10,000: minutes).
   */
  maxPushRefs: number;
  /** Timeout of a network command that moves no refs (ls-remote, a one-ref fetch or push). */
  timeoutMs: number;
  /** Added to the timeout for each ref a fetch or push moves. */
  timeoutPerRefMs: number;
}

export const DEFAULT_GIT_LIMITS: Readonly<GitLimits> = Object.freeze({
  maxPushRefs: 500,
  timeoutMs: 120_000,
  timeoutPerRefMs: 50,
});

let limits: GitLimits = { ...DEFAULT_GIT_LIMITS };

export function gitLimits(): Readonly<GitLimits> {
  return limits;
}

/** Changes some limits (the others keep their value); returns the previous limits. */
export function setGitLimits(changes: Partial<GitLimits>): GitLimits {
  const next = { ...limits, ...changes };
  if (!Number.isSafeInteger(next.maxPushRefs) || next.maxPushRefs < 1) {
    throw new RangeError(`maxPushRefs must be a positive integer, not ${next.maxPushRefs}`);
  }
  for (const key of ['timeoutMs', 'timeoutPerRefMs'] as const) {
    if (!Number.isFinite(next[key]) || next[key] < 0) throw new RangeError(`${key} must be ≥ 0, not ${next[key]}`);
  }
  const previous = limits;
  limits = next;
  return previous;
}

/** Timeout of a network command moving `refs` refs: `base` (default `timeoutMs`) + `timeoutPerRefMs` per ref. */
export function networkTimeoutMs(refs: number, base = limits.timeoutMs): number {
  return base + refs * limits.timeoutPerRefMs;
}
