// The upstream watcher's access to one repository, on a GitStore: a poll is one ls-remote; only
// when the remote's refs differ from the cache's does it fetch, then resolves each watch with the
// same track logic the reconciler uses. The track `downstream` (the manager's watch on a variant's
// downstream package) resolves to a digest of the package's revisions, so that a person approving,
// proposing or deleting a revision is noticed.
import { createHash } from 'node:crypto';
import type { GitStore } from '../../lib/git/store.ts';
import { resolveTrack, UpstreamNotFoundError } from '../packagevariant/upstream.ts';
import type { UpstreamWatch } from './index.ts';
import type { UpstreamRevision, UpstreamSource } from './watcher.ts';

export const DOWNSTREAM_TRACK = 'downstream';

export class GitUpstreamSource implements UpstreamSource {
  private readonly getStore: () => Promise<GitStore>;

  /** `getStore` gives the repository's store (it may change, e.g. when credentials rotate). */
  constructor(getStore: () => Promise<GitStore>) {
    this.getStore = getStore;
  }

  async lsRemote(): Promise<Map<string, string>> {
    return (await this.getStore()).lsRemote();
  }

  async resolve(
    watches: UpstreamWatch[],
    heads: Map<string, string>,
  ): Promise<Map<UpstreamWatch, UpstreamRevision | undefined>> {
    const store = await this.getStore();
    if (!sameRefs(await store.refs(), heads)) await store.refresh();
    const resolved = new Map<UpstreamWatch, UpstreamRevision | undefined>();
    for (const watch of watches) resolved.set(watch, await resolveOne(store, watch));
    return resolved;
  }
}

async function resolveOne(store: GitStore, watch: UpstreamWatch): Promise<UpstreamRevision | undefined> {
  const packageName = relative(store, watch.package);
  if (packageName === undefined) return undefined;
  try {
    if (watch.track === DOWNSTREAM_TRACK) return await downstreamRevision(store, packageName);
    const found = await resolveTrack(store, packageName, watch.track);
    const tree = await store.packageTree(found.commit, packageName);
    return tree ? { commit: found.commit, tree } : undefined;
  } catch (error) {
    if (error instanceof UpstreamNotFoundError) return undefined;
    throw error;
  }
}

/** What the downstream watch sees of a package: a digest of its revisions (refs, commits, lifecycles). */
export async function downstreamRevision(store: GitStore, packageName: string): Promise<UpstreamRevision> {
  const revisions = await store.listRevisions({ packageName });
  const digest = createHash('sha256')
    .update(JSON.stringify(revisions.map((r) => [r.ref, r.commit, r.lifecycle]).sort()))
    .digest('hex');
  return { commit: digest, tree: digest };
}

/** The package name relative to the store's directory (watches carry full package paths). */
function relative(store: GitStore, pkgPath: string): string | undefined {
  const dir = store.directory;
  if (!dir) return pkgPath;
  return pkgPath.startsWith(`${dir}/`) ? pkgPath.slice(dir.length + 1) : undefined;
}

/** Branches and tags equal (ls-remote may list more, e.g. HEAD or pull refs, which are ignored). */
function sameRefs(cached: Map<string, string>, remote: Map<string, string>): boolean {
  const relevant = (ref: string) => ref.startsWith('refs/heads/') || ref.startsWith('refs/tags/');
  const a = [...cached].filter(([ref]) => relevant(ref));
  const b = [...remote].filter(([ref]) => relevant(ref));
  return a.length === b.length && a.every(([ref, sha]) => remote.get(ref) === sha);
}
