// Capped exponential backoff with optional jitter, as a pure function of the attempt number.

export interface BackoffPolicy {
  /** Delay before the first retry. */
  initialMs: number;
  /** Upper bound for any delay (before jitter). */
  maxMs: number;
  /** Growth per attempt; 2 doubles. */
  factor: number;
  /** 0..1: the delay is scaled by a random factor in [1 - jitter, 1]. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 200, maxMs: 30_000, factor: 2, jitter: 0.2 };

/**
 * Delay before retry number `attempt` (1 = first retry): `initialMs * factor^(attempt-1)`, capped at
 * `maxMs`, then reduced by up to `jitter` of itself. `random` returns a number in [0, 1).
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random = Math.random): number {
  if (!Number.isInteger(attempt) || attempt < 1)
    throw new RangeError(`attempt must be an integer >= 1, got ${attempt}`);
  const exponential = policy.initialMs * Math.pow(policy.factor, attempt - 1);
  const capped = Math.min(policy.maxMs, Number.isFinite(exponential) ? exponential : policy.maxMs);
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  return Math.round(capped * (1 - jitter * random()));
}
