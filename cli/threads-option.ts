// `--threads` of `pvctl reconcile` and `pvctl run`: worker threads for package work (merge,
// mutations, render), so that the main thread's git and Kubernetes I/O is not held up by it.
import { UsageError } from './output.ts';

export const THREADS_OPTION = [
  '--threads <n>',
  'worker threads merging, mutating and rendering packages (default 0: on the main thread)',
] as const;

/** The flag's value, or undefined for the default; a bad value is a usage error. */
export function threadsFrom(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 64 || value.trim() === '') {
    throw new UsageError(`--threads must be an integer from 0 to 64, not ${JSON.stringify(value)}`);
  }
  return n;
}
