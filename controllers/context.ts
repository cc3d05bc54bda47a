// What reaches every step of a reconcile: a logger that already names the controller, the key and
// the reconcile's id, and a signal that aborts the reconcile at shutdown's deadline.

/** The logger calls the steps make (pino's shape; local mode passes a silent one). */
export interface StepLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface ReconcileContext {
  log: StepLogger;
  signal: AbortSignal;
}

const silent: StepLogger = { debug() {}, info() {}, warn() {} };

/** For callers with no controller around them (local mode, tests): no logs, never aborted. */
export function backgroundContext(): ReconcileContext {
  return { log: silent, signal: new AbortController().signal };
}
