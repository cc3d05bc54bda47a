// Resolving what a variant's upstream is right now: repository, package, commit and package tree.
// Without a pinned revision the newest published revision is followed; a repository without
// published revisions of the package (a plain git repository) is followed on its branch.
import type { PackageVariant, Repository } from '../../api/v1alpha1/index.ts';
import type { GitStore } from '../../lib/git/store.ts';
import type { UpstreamRevision as LockRevision } from '../../lib/merge/upgrade.ts';
import type { UpstreamWatch } from '../upstream/index.ts';
import { normalizeRepoUrl } from '../upstream/repo-url.ts';
import { locationOf, type GitLocation } from './git-stores.ts';

export interface ResolvedUpstream {
  store: GitStore;
  /** Package name relative to the store's directory. */
  packageName: string;
  commit: string;
  /** Tree id of the package at `commit`: what upgrade detection compares. */
  tree: string;
  /** Published revision number, when the upstream is a published revision. */
  revision?: number;
  /** What the downstream Kptfile's `upstream`/`upstreamLock` record (kpt's lock fields). */
  lock: LockRevision;
  /** What the upstream watcher follows for this variant. */
  watch: UpstreamWatch;
}

export class UpstreamNotFoundError extends Error {
  override name = 'UpstreamNotFoundError';
}

function shortRef(ref: string): string {
  return ref.replace(/^refs\/(heads|tags)\//, '');
}

/** The git location of the upstream: the registered Repository, or `spec.upstream.git`. */
export function upstreamLocation(pv: PackageVariant, repository: Repository | undefined): GitLocation {
  const upstream = pv.spec!.upstream!;
  const namespace = pv.metadata?.namespace ?? 'default';
  if (upstream.git) {
    const ref = upstream.git.ref;
    return {
      namespace,
      url: upstream.git.repo,
      branch: ref && !/^[0-9a-f]{40}$/.test(ref) ? ref : 'main',
      directory: '',
      ...(upstream.git.secretRef?.name ? { secretName: upstream.git.secretRef.name } : {}),
    };
  }
  return locationOf(repository!);
}

/** What the upstream watcher follows for an upstream: `ref:<ref>`, `workspace:<ws>`, `revision:<n>` or `latest`. */
export function trackOf(
  upstream: NonNullable<NonNullable<PackageVariant['spec']>['upstream']>,
  branch: string,
): string {
  if (upstream.git) return `ref:${upstream.git.ref || branch}`;
  if (upstream.workspaceName) return `workspace:${upstream.workspaceName}`;
  if (upstream.revision && upstream.revision > 0) return `revision:${upstream.revision}`;
  return 'latest';
}

export interface TrackedRef {
  ref: string;
  commit: string;
  /** Published revision number, when the ref is a published revision. */
  revision?: number;
}

/**
 * Where `track` points for a package of `store` (refreshed by the caller): shared by the reconciler
 * and the upstream watcher's git source. Throws UpstreamNotFoundError when it points nowhere.
 */
export async function resolveTrack(store: GitStore, packageName: string, track: string): Promise<TrackedRef> {
  const colon = track.indexOf(':');
  const kind = colon < 0 ? track : track.slice(0, colon);
  const arg = colon < 0 ? '' : track.slice(colon + 1);
  switch (kind) {
    case 'ref': {
      const found = await store.resolveRef(arg, packageName);
      if (!found) throw new UpstreamNotFoundError(`upstream ref ${arg} not found in ${store.url}`);
      return found;
    }
    case 'workspace': {
      const revisions = await store.listRevisions({ packageName });
      // A published revision of that workspace first, then a proposed or draft one.
      const order = ['Published', 'DeletionProposed', 'Proposed', 'Draft'];
      const match = revisions
        .filter((r) => r.workspace === arg && r.revision >= 0 && !r.error)
        .sort((a, b) => order.indexOf(a.lifecycle) - order.indexOf(b.lifecycle))[0];
      if (!match) {
        throw new UpstreamNotFoundError(`no revision with workspace ${arg} of package ${packageName} in ${store.url}`);
      }
      return { ref: match.ref, commit: match.commit, ...(match.revision ? { revision: match.revision } : {}) };
    }
    case 'revision': {
      const revision = Number(arg);
      const tag = `refs/tags/${store.packagePath(packageName)}/v${revision}`;
      const commit = (await store.refs()).get(tag);
      if (!commit) {
        throw new UpstreamNotFoundError(`revision ${revision} of package ${packageName} not found in ${store.url}`);
      }
      return { ref: tag, commit, revision };
    }
    case 'latest': {
      const latest = await store.latestPublished(packageName);
      if (latest) return latest;
      const branch = await store.resolveRef(`refs/heads/${store.branch}`);
      if (!branch) throw new UpstreamNotFoundError(`branch ${store.branch} not found in ${store.url}`);
      return branch;
    }
    default:
      throw new UpstreamNotFoundError(`unknown upstream track ${track}`);
  }
}

/** Resolves the upstream of `pv` in `store` (refreshed by the caller). */
export async function resolveUpstream(pv: PackageVariant, store: GitStore): Promise<ResolvedUpstream> {
  const upstream = pv.spec!.upstream!;
  const packageName = upstream.git ? (upstream.git.directory ?? '').replace(/^\/+|\/+$/g, '') : upstream.package!;
  const track = trackOf(upstream, store.branch);
  const watch = {
    repo: normalizeRepoUrl(store.url),
    package: upstream.git ? packageName : store.packagePath(packageName),
    track,
  };
  const found = await resolveTrack(store, packageName, track);
  return finish(store, packageName, found.ref, found.commit, found.revision, watch);
}

async function finish(
  store: GitStore,
  packageName: string,
  ref: string,
  commit: string,
  revision: number | undefined,
  watch: UpstreamWatch,
): Promise<ResolvedUpstream> {
  const tree = await store.packageTree(commit, packageName);
  if (!tree) {
    throw new UpstreamNotFoundError(
      `package ${packageName} not found at ${shortRef(ref)} (${commit.slice(0, 12)}) in ${store.url}`,
    );
  }
  return {
    store,
    packageName,
    commit,
    tree,
    ...(revision ? { revision } : {}),
    lock: { repo: store.url, directory: store.packagePath(packageName), ref: shortRef(ref), commit },
    watch,
  };
}
