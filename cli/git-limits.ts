// `--max-push-refs` of `pvctl run` and `pvctl reconcile`: the push limit of lib/git/limits.ts, which
// holds for the whole process (see docs/limits.md).
import { DEFAULT_GIT_LIMITS, setGitLimits } from '../lib/git/limits.ts';
import { UsageError } from './output.ts';

export interface GitLimitOptions {
  maxPushRefs?: string;
}

export const MAX_PUSH_REFS_OPTION = [
  '--max-push-refs <n>',
  `ref updates per atomic git push; a bigger batch is pushed in waves (default ${DEFAULT_GIT_LIMITS.maxPushRefs})`,
] as const;

/** Applies the flags to lib/git (process-wide); unset flags leave the limits as they are. */
export function applyGitLimits(options: GitLimitOptions): void {
  const value = options.maxPushRefs;
  if (value === undefined) return;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`--max-push-refs must be a positive integer, not ${value}`);
  }
  setGitLimits({ maxPushRefs: n });
}
