// Defaults, applied in memory only (never written back to the object), as Porch does.
import type { PackageVariantSpec } from './packagevariant.ts';
import { DEFAULT_BRANCH, type GitRepository, type RepositorySpec } from './repository.ts';

export type DefaultedPackageVariantSpec = PackageVariantSpec &
  Required<Pick<PackageVariantSpec, 'adoptionPolicy' | 'deletionPolicy'>>;

export function defaultPackageVariantSpec(spec: PackageVariantSpec): DefaultedPackageVariantSpec {
  return {
    ...spec,
    adoptionPolicy: spec.adoptionPolicy || 'adoptNone',
    deletionPolicy: spec.deletionPolicy || 'delete',
  };
}

export type DefaultedGitRepository = GitRepository & Required<Pick<GitRepository, 'branch' | 'directory'>>;

/** Branch `main`; directory normalized to a relative path without slashes at either end ('' = root). */
export function defaultGitRepository(git: GitRepository): DefaultedGitRepository {
  return {
    ...git,
    branch: git.branch || DEFAULT_BRANCH,
    directory: (git.directory ?? '').replace(/^\/+/, '').replace(/\/+$/, ''),
  };
}

export function defaultRepositorySpec(spec: RepositorySpec): RepositorySpec {
  return { ...spec, type: spec.type ?? 'git', ...(spec.git ? { git: defaultGitRepository(spec.git) } : {}) };
}
