// pvctl's exit codes, one table for every command (docs/cli.md#exit-codes). A script tells "the
// command line was wrong" (64) and "no cluster" (69) from "it ran, and the answer is no" (1).

/** Success. */
export const OK_EXIT = 0;
/** The command ran and the answer is no: not Ready, problems found, an operation failed, not found. */
export const FAILED_EXIT = 1;
/** `pvctl merge --conflicts fail` found conflicts (nothing written). */
export const MERGE_CONFLICTS_EXIT = 2;
/** The command line is wrong: unknown command or flag, a missing or bad argument or flag value (EX_USAGE). */
export const USAGE_EXIT = 64;
/** No cluster: no kubeconfig, or the API server cannot be reached or refuses us (EX_UNAVAILABLE). */
export const UNAVAILABLE_EXIT = 69;
/** A bug in pvctl (EX_SOFTWARE). */
export const INTERNAL_ERROR_EXIT = 70;

/** A mistake in how a command was called; printed without a stack trace; exit 64. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The input files or the state found do not allow it (bad manifests, nothing by that name); exit 1. */
export class InputError extends Error {
  override name = 'InputError';
}

/** The cluster cannot be used: no kubeconfig, unreachable, refused; exit 69. */
export class UnavailableError extends Error {
  override name = 'UnavailableError';
}
