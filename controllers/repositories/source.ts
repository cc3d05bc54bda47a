// The upstream source port: one upstream repository as both the reconciler and the watcher see it.
// Implementations: a git repository (git-source.ts) and an OCI image repository (oci-source.ts);
// neither the reconciler nor the watcher knows which one it has.
import type { PackageFiles, PackageModes } from '../../lib/kpt/package.ts';
import type { UpstreamRevision as LockRevision } from '../../lib/merge/upgrade.ts';
import type { UpstreamWatch } from './index.ts';

/** A package as the source holds it: regular files, plus executable bits, symlinks and gitlinks. */
export interface PackageContent {
  files: PackageFiles;
  modes: PackageModes;
}

/** What a watch sees of a package: the revision's commit and the package's tree (what decides a change). */
export interface UpstreamRevision {
  commit: string;
  tree: string;
}

/** Where a track points now. */
export interface TrackedRevision {
  /** The ref it was found at (full name), or the commit. */
  ref: string;
  commit: string;
  /** Published revision number, when it is one. */
  revision?: number;
}

export class UpstreamNotFoundError extends Error {
  override name = 'UpstreamNotFoundError';
}

export interface UpstreamSource {
  /** git: packages are directories of a repository; oci: the source is one image, its package is ''. */
  readonly kind: 'git' | 'oci';
  readonly url: string;
  /** What a variant follows when its spec names no revision or ref (git: the repository's branch). */
  readonly defaultRef: string;
  /** The package's name in watches (its path in the repository), and back (undefined: not this source's). */
  watchPackage(packageName: string): string;
  packageNameOf(watchPackage: string): string | undefined;
  /** The remote's heads, from one cheap request (git: one ls-remote). */
  heads(): Promise<Map<string, string>>;
  /** Brings the local view up to date: with `heads` when given (fetching only what moved), else once. */
  sync(heads?: Map<string, string>): Promise<void>;
  /** Where `track` (see trackOf) points for a package; throws UpstreamNotFoundError. */
  resolve(packageName: string, track: string): Promise<TrackedRevision>;
  /** The package's tree id at a commit, undefined when the package is not there. */
  packageTree(packageName: string, commit: string): Promise<string | undefined>;
  read(packageName: string, commit: string): Promise<PackageContent>;
  /** What a downstream Kptfile's `upstream`/`upstreamLock` record for a revision. */
  lock(packageName: string, revision: TrackedRevision): LockRevision;
  /** The package's published revisions, oldest first, from the refs the last sync saw (no reads); undefined: none kept. */
  publishedRevisions?(packageName: string): Promise<TrackedRevision[]>;
  /** When a commit was made (RFC 3339, committer time), undefined when unknown. */
  commitTime?(commit: string): Promise<string | undefined>;
  /** A watch with its own meaning for this source (git: `downstream`, a digest of the revisions), if any. */
  resolveSpecial?(packageName: string, track: string): Promise<UpstreamRevision | undefined> | undefined;
}

/** Resolves each watch at the given heads (one sync first); undefined for a package not found. */
export async function resolveWatches(
  source: UpstreamSource,
  watches: readonly UpstreamWatch[],
  heads: Map<string, string>,
): Promise<Map<UpstreamWatch, UpstreamRevision | undefined>> {
  await source.sync(heads);
  const resolved = new Map<UpstreamWatch, UpstreamRevision | undefined>();
  for (const watch of watches) {
    const packageName = source.packageNameOf(watch.package);
    resolved.set(watch, packageName === undefined ? undefined : await resolveWatch(source, packageName, watch.track));
  }
  return resolved;
}

async function resolveWatch(
  source: UpstreamSource,
  packageName: string,
  track: string,
): Promise<UpstreamRevision | undefined> {
  try {
    const special = source.resolveSpecial?.(packageName, track);
    if (special) return await special;
    const found = await source.resolve(packageName, track);
    const tree = await source.packageTree(packageName, found.commit);
    return tree ? { commit: found.commit, tree } : undefined;
  } catch (error) {
    if (error instanceof UpstreamNotFoundError) return undefined;
    throw error;
  }
}
