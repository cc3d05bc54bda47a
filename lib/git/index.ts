// lib/git: the Porch-compatible git package store. See docs/git.md.
export { GitStore, GitStoreError, DEFAULT_IDENTITY } from './store.ts';
export type { GitStoreOptions, PackageRevision, ResolvedPackage, PackageLocator, PackageFileMap } from './store.ts';
export { GitBatch, porchCommitTitle } from './batch.ts';
export type {
  BatchOp,
  BatchResult,
  BatchStatus,
  DraftContent,
  UpdateDraftContent,
  RevisionRef,
  PublishedRef,
} from './batch.ts';
export { credentialsFromSecret } from './credentials.ts';
export type { GitCredentials, SecretLike } from './credentials.ts';
export { defaultCacheDir, gitStoreOptions } from './repository.ts';
export type { GitRepositorySpecLike } from './repository.ts';
export { formatCommitMessage, parseCommitMessage, OWNER_TRAILER, OWNER_UID_TRAILER } from './message.ts';
export type { KptAnnotation, Owner, Identity } from './message.ts';
export { draftRef, proposedRef, publishedTag, deletionProposedRef, parseRef } from './refs.ts';
export type { Lifecycle, ParsedRef } from './refs.ts';
export { GitError, gitProcessStats, redact } from './exec.ts';
export { GitInputError, checkPackagePath, checkWorkspaceName, checkFilePath } from './validate.ts';
export { parseRemoteUrl } from './url.ts';
export type { Transport } from './url.ts';
