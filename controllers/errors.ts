// The errors the reconcilers and the object port share.

/**
 * A problem a person must fix (the spec, a missing object, ownership): the object is Stalled with
 * `reason`, and it is not retried until something changes, or after `requeueAfterMs` when nothing
 * else would tell the controller that the cause went away.
 */
export class TerminalError extends Error {
  readonly reason: string;
  readonly requeueAfterMs: number | undefined;
  constructor(reason: string, message: string, requeueAfterMs?: number) {
    super(message);
    this.name = 'TerminalError';
    this.reason = reason;
    this.requeueAfterMs = requeueAfterMs;
  }
}

/** The object changed since it was read (the cache was behind): routine, retried at once. */
export class ConflictError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConflictError';
  }
}
