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

/** Resolves the upstream of `pv` in `store` (refreshed by the caller). */
export async function resolveUpstream(pv: PackageVariant, store: GitStore): Promise<ResolvedUpstream> {
  const upstream = pv.spec!.upstream!;
  const repo = normalizeRepoUrl(store.url);
  if (upstream.git) {
    const packageName = (upstream.git.directory ?? '').replace(/^\/+|\/+$/g, '');
    const ref = upstream.git.ref || store.branch;
    const found = await store.resolveRef(ref, packageName);
    if (!found) throw new UpstreamNotFoundError(`upstream ref ${ref} not found in ${store.url}`);
    return finish(store, packageName, found.ref, found.commit, undefined, {
      repo,
      package: packageName,
      track: `ref:${ref}`,
    });
  }
  const packageName = upstream.package!;
  const track = upstream.workspaceName
    ? `workspace:${upstream.workspaceName}`
    : upstream.revision && upstream.revision > 0
      ? `revision:${upstream.revision}`
      : 'latest';
  const watch = { repo, package: store.packagePath(packageName), track };
  if (upstream.workspaceName) {
    const revisions = await store.listRevisions({ packageName });
    // A published revision of that workspace first, then a proposed or draft one.
    const order = ['Published', 'DeletionProposed', 'Proposed', 'Draft'];
    const match = revisions
      .filter((r) => r.workspace === upstream.workspaceName && r.revision >= 0 && !r.error)
      .sort((a, b) => order.indexOf(a.lifecycle) - order.indexOf(b.lifecycle))[0];
    if (!match) {
      throw new UpstreamNotFoundError(
        `no revision with workspace ${upstream.workspaceName} of package ${packageName} in ${store.url}`,
      );
    }
    return finish(store, packageName, match.ref, match.commit, match.revision || undefined, watch);
  }
  if (upstream.revision && upstream.revision > 0) {
    const tag = `refs/tags/${store.packagePath(packageName)}/v${upstream.revision}`;
    const commit = (await store.refs()).get(tag);
    if (!commit)
      throw new UpstreamNotFoundError(
        `revision ${upstream.revision} of package ${packageName} not found in ${store.url}`,
      );
    return finish(store, packageName, tag, commit, upstream.revision, watch);
  }
  const latest = await store.latestPublished(packageName);
  if (latest) return finish(store, packageName, latest.ref, latest.commit, latest.revision, watch);
  const branch = await store.resolveRef(`refs/heads/${store.branch}`);
  if (!branch) throw new UpstreamNotFoundError(`branch ${store.branch} not found in ${store.url}`);
  return finish(store, packageName, branch.ref, branch.commit, undefined, watch);
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
