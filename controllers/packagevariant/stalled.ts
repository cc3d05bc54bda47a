/** A problem a person must fix (spec, missing object, ownership); no retry until something changes. */
export class StalledError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.name = 'StalledError';
    this.reason = reason;
  }
}
