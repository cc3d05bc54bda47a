// The upstream source on a git repository (a GitStore in Porch's layout). Heads are one ls-remote;
// a sync fetches only what moved. Tracks: `latest` (the newest published revision, or the branch
// of a repository without any), `revision:<n>`, `workspace:<ws>`, `ref:<ref>`, and `downstream`:
// the manager's watch on a variant's downstream package, a digest of the package's revisions, so
// that a person approving, proposing or deleting a revision is noticed.
import { createHash } from 'node:crypto';
import { commitTimeString } from '../../lib/git/message.ts';
import { parseRef } from '../../lib/git/refs.ts';
import type { GitStore } from '../../lib/git/store.ts';
import type { UpstreamRevision as LockRevision } from '../../lib/merge/upgrade.ts';
import {
  UpstreamNotFoundError,
  type PackageContent,
  type TrackedRevision,
  type UpstreamRevision,
  type UpstreamSource,
} from './source.ts';

export const DOWNSTREAM_TRACK = 'downstream';

export class GitSource implements UpstreamSource {
  readonly kind = 'git';
  private readonly getStore: () => Promise<GitStore>;
  private readonly refreshOnce: (store: GitStore) => Promise<void>;
  private current?: GitStore;

  /**
   * `getStore` gives the repository's store (it may change, e.g. when credentials rotate);
   * `refreshOnce` refreshes it when nothing did yet (the reconciler's GitStores share that). The
   * other members are valid once the store was first used (a `sync` or `heads`).
   */
  constructor(getStore: () => Promise<GitStore>, refreshOnce?: (store: GitStore) => Promise<void>) {
    this.getStore = getStore;
    this.refreshOnce = refreshOnce ?? ((s) => s.refresh().then(() => undefined));
  }

  private async store(): Promise<GitStore> {
    this.current = await this.getStore();
    return this.current;
  }

  get url(): string {
    return this.current?.url ?? '';
  }

  get defaultRef(): string {
    return this.current?.branch ?? 'main';
  }

  watchPackage(packageName: string): string {
    return this.current ? this.current.packagePath(packageName) : packageName;
  }

  packageNameOf(watchPackage: string): string | undefined {
    const dir = this.current?.directory;
    if (!dir) return watchPackage;
    return watchPackage.startsWith(`${dir}/`) ? watchPackage.slice(dir.length + 1) : undefined;
  }

  async heads(): Promise<Map<string, string>> {
    return (await this.store()).lsRemote();
  }

  async sync(heads?: Map<string, string>): Promise<void> {
    const store = await this.store();
    if (!heads) return this.refreshOnce(store);
    if (!sameRefs(await store.refs(), heads)) await store.refresh();
  }

  async resolve(packageName: string, track: string): Promise<TrackedRevision> {
    return resolveTrack(await this.store(), packageName, track);
  }

  async packageTree(packageName: string, commit: string): Promise<string | undefined> {
    return (await this.store()).packageTree(commit, packageName);
  }

  async read(packageName: string, commit: string): Promise<PackageContent> {
    return readPackageContent(await this.store(), packageName, commit);
  }

  lock(packageName: string, revision: TrackedRevision): LockRevision {
    const store = this.current!;
    const ref = revision.ref.replace(/^refs\/(heads|tags)\//, '');
    return { repo: store.url, directory: store.packagePath(packageName), ref, commit: revision.commit };
  }

  async publishedRevisions(packageName: string): Promise<TrackedRevision[]> {
    const store = await this.store();
    const pkgPath = store.packagePath(packageName);
    const found: TrackedRevision[] = [];
    for (const [ref, commit] of await store.refs()) {
      const parsed = parseRef(ref);
      if (parsed.kind === 'published' && parsed.pkgPath === pkgPath && parsed.revision > 0) {
        found.push({ ref, commit, revision: parsed.revision });
      }
    }
    return found.sort((a, b) => a.revision! - b.revision!);
  }

  async commitTime(commit: string): Promise<string | undefined> {
    const { time } = await (await this.store()).commit(commit);
    return commitTimeString(time);
  }

  resolveSpecial(packageName: string, track: string): Promise<UpstreamRevision> | undefined {
    if (track !== DOWNSTREAM_TRACK) return undefined;
    return this.store().then((store) => downstreamRevision(store, packageName));
  }
}

/** A package at a commit, files and modes (upstream and downstream reads alike). */
export async function readPackageContent(
  store: GitStore,
  packageName: string,
  commit: string,
): Promise<PackageContent> {
  const [files, modes] = await Promise.all([
    store.readPackage({ packageName, commit }),
    store.readPackageModes({ packageName, commit }),
  ]);
  return { files, modes };
}

/** Where `track` points for a package of `store` (refreshed by the caller). */
async function resolveTrack(store: GitStore, packageName: string, track: string): Promise<TrackedRevision> {
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
      const commit = await store.ref(tag);
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

/** What the downstream watch sees of a package: a digest of its revisions (refs, commits, lifecycles). */
export async function downstreamRevision(store: GitStore, packageName: string): Promise<UpstreamRevision> {
  const revisions = await store.listRevisions({ packageName });
  const digest = createHash('sha256')
    .update(JSON.stringify(revisions.map((r) => [r.ref, r.commit, r.lifecycle]).sort()))
    .digest('hex');
  return { commit: digest, tree: digest };
}

/** Branches and tags equal (ls-remote may list more, e.g. HEAD or pull refs, which are ignored). */
function sameRefs(cached: Map<string, string>, remote: Map<string, string>): boolean {
  const relevant = (ref: string) => ref.startsWith('refs/heads/') || ref.startsWith('refs/tags/');
  const a = [...cached].filter(([ref]) => relevant(ref));
  const b = [...remote].filter(([ref]) => relevant(ref));
  return a.length === b.length && a.every(([ref, sha]) => remote.get(ref) === sha);
}
