// GitStore options from a Repository's `spec.git` (structural types: lib/git imports nothing of ours).
import { homedir } from 'node:os';
import { join } from 'node:path';
import { credentialsFromSecret, type SecretLike } from './credentials.ts';
import type { GitStoreOptions } from './store.ts';

/** The fields of a Repository `spec.git` the store uses. */
export interface GitRepositorySpecLike {
  repo: string;
  branch?: string;
  directory?: string;
  createBranch?: boolean;
  author?: string;
  email?: string;
  secretRef?: { name: string };
}

export function gitStoreOptions(
  git: GitRepositorySpecLike,
  context: { cacheDir: string; secret?: SecretLike; timeoutMs?: number },
): GitStoreOptions {
  if (git.secretRef && !context.secret) {
    throw new Error(`repository ${git.repo}: Secret ${git.secretRef.name} (spec.git.secretRef) was not provided`);
  }
  return {
    url: git.repo,
    cacheDir: context.cacheDir,
    ...(git.branch ? { branch: git.branch } : {}),
    ...(git.directory ? { directory: git.directory } : {}),
    ...(git.createBranch ? { createBranch: true } : {}),
    ...(git.author || git.email ? { author: { name: git.author ?? '', email: git.email ?? '' } } : {}),
    ...(context.secret ? { credentials: credentialsFromSecret(context.secret, git.secretRef?.name) } : {}),
    ...(context.timeoutMs ? { timeoutMs: context.timeoutMs } : {}),
  };
}

/** Where bare caches are kept unless a `--cache-dir` says otherwise (every command, the controller too). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'packagevariant-controller', 'git');
}
