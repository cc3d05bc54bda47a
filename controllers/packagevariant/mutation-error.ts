// The one error type of the mutation step ("calculate draft resources"): bad package content or a
// spec the package cannot take. Messages name the file and, where it is the cause, the spec field.
export class MutationError extends Error {
  readonly file: string | undefined;
  readonly field: string | undefined;
  constructor(message: string, options: { file?: string; field?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MutationError';
    this.file = options.file;
    this.field = options.field;
  }
}
