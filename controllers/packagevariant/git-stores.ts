// One GitStore per repository (URL, branch, directory, credentials), built from Repository objects
// and their Secrets, shared by every variant that uses the repository; and the upstream sources on
// them, or on OCI image repositories (one OciSource per image, so its tags are listed once).
import { createHash } from 'node:crypto';
import { defaultGitRepository, type Repository } from '../../api/v1alpha1/index.ts';
import { defaultCacheDir, gitStoreOptions } from '../../lib/git/repository.ts';
import { GitStore } from '../../lib/git/store.ts';
import { registryAccessFromSecret, type RegistryAccess } from '../../lib/oci/credentials.ts';
import { GitSource } from '../repositories/git-source.ts';
import { OciSource } from '../repositories/oci-source.ts';
import type { UpstreamSource } from '../repositories/source.ts';
import type { ObjectStore, Secret } from '../store.ts';

/** Where a store reads and writes: a registered Repository, or (beyond Porch) a bare git upstream. */
export interface GitLocation {
  namespace: string;
  url: string;
  branch: string;
  directory: string;
  secretName?: string;
  author?: string;
  email?: string;
  createBranch?: boolean;
}

/** Where an OCI upstream lives (beyond Porch): one image repository on a registry. */
export interface OciLocation {
  namespace: string;
  oci: { registry: string; repository: string };
  secretName?: string;
}

export type UpstreamLocation = GitLocation | OciLocation;

export function isOciLocation(location: UpstreamLocation): location is OciLocation {
  return 'oci' in location;
}

/** Package `packageName` of a Repository of `type: oci`: the image `<spec.oci.registry>/<packageName>`. */
export function ociLocationOf(repo: Repository, packageName: string): OciLocation {
  const [registry = '', ...prefix] = repo.spec!.oci!.registry.replace(/\/+$/, '').split('/');
  const secretName = repo.spec!.oci!.secretRef?.name;
  return {
    namespace: repo.metadata?.namespace ?? 'default',
    oci: { registry, repository: [...prefix, packageName.replace(/^\/+|\/+$/g, '')].join('/') },
    ...(secretName ? { secretName } : {}),
  };
}

export function locationOf(repo: Repository): GitLocation {
  const git = defaultGitRepository(repo.spec!.git!);
  return {
    namespace: repo.metadata?.namespace ?? 'default',
    url: git.repo,
    branch: git.branch,
    directory: git.directory,
    ...(git.secretRef?.name ? { secretName: git.secretRef.name } : {}),
    ...(git.author ? { author: git.author } : {}),
    ...(git.email ? { email: git.email } : {}),
    ...(git.createBranch ? { createBranch: true } : {}),
  };
}

export { defaultCacheDir };

/** A git repository a pass read: enough to ask it again whether anything moved. */
export interface RepositoryRead {
  url: string;
  /** The Secret its credentials came from (never the credentials themselves). */
  secret?: { namespace: string; name: string };
  /** The branches and tags it had. */
  refs: Map<string, string>;
}

export class GitStores {
  private readonly stores = new Map<string, GitStore>();
  private readonly secrets = new Map<GitStore, { namespace: string; name: string }>();
  private readonly refreshed = new Map<GitStore, Promise<unknown>>();
  private readonly ociSources = new Map<string, OciSource>();
  private readonly cacheDir: string;
  private readonly objects: ObjectStore;
  private readonly dryRun: boolean;

  /** `dryRun`: every store previews its pushes instead of making them (GitStoreOptions.dryRun). */
  constructor(options: { cacheDir?: string; objects: ObjectStore; dryRun?: boolean }) {
    this.cacheDir = options.cacheDir ?? defaultCacheDir();
    this.objects = options.objects;
    this.dryRun = options.dryRun ?? false;
  }

  /** The store for a location; a rotated Secret yields a new store with the new credentials. */
  async get(location: GitLocation): Promise<GitStore> {
    const secret = await this.secret(location);
    const options = gitStoreOptions(
      {
        repo: location.url,
        branch: location.branch,
        directory: location.directory,
        ...(location.createBranch ? { createBranch: true } : {}),
        ...(location.author ? { author: location.author } : {}),
        ...(location.email ? { email: location.email } : {}),
        ...(location.secretName ? { secretRef: { name: `${location.namespace}/${location.secretName}` } } : {}),
      },
      { cacheDir: this.cacheDir, ...(secret ? { secret } : {}) },
    );
    if (this.dryRun) options.dryRun = true;
    const { credentials, ...rest } = options;
    const key = JSON.stringify([
      rest,
      credentials ? createHash('sha256').update(JSON.stringify(credentials)).digest('hex') : '',
    ]);
    let store = this.stores.get(key);
    if (!store) {
      store = new GitStore(options);
      this.stores.set(key, store);
      if (location.secretName) this.secrets.set(store, { namespace: location.namespace, name: location.secretName });
    }
    return store;
  }

  /**
   * The git repositories read so far and their refs; undefined when the reads cannot be asked
   * again from refs alone: an OCI upstream was read, a repository could not be read, or some
   * repository's refs moved meanwhile (read before and after the move, the pass saw two states).
   */
  reads(): RepositoryRead[] | undefined {
    if (this.ociSources.size) return undefined;
    const reads = new Map<string, RepositoryRead>();
    for (const store of this.stores.values()) {
      const refs = store.cache.lastRefs;
      if (!refs || store.cache.refsMoved) return undefined;
      const secret = this.secrets.get(store);
      const read = { url: store.url, ...(secret ? { secret } : {}), refs };
      reads.set(JSON.stringify([store.url, secret ?? null]), read);
    }
    return [...reads.values()];
  }

  /** The upstream source port on a location (refreshed once, as `ensureRefreshed`; OCI: tags listed once). */
  source(location: UpstreamLocation): UpstreamSource {
    if (isOciLocation(location)) return this.ociSource(location);
    return new GitSource(
      () => this.get(location),
      (store) => this.ensureRefreshed(store),
    );
  }

  /** Makes the next use of the location's source fetch (git) or list its tags (OCI) again. */
  async invalidateSource(location: UpstreamLocation): Promise<void> {
    if (isOciLocation(location)) this.ociSource(location).invalidate();
    else this.invalidate(await this.get(location));
  }

  private ociSource(location: OciLocation): OciSource {
    const { registry, repository } = location.oci;
    const key = JSON.stringify([location.namespace, location.secretName ?? '', registry, repository]);
    let source = this.ociSources.get(key);
    if (!source) {
      source = new OciSource({ registry, repository, access: () => this.registryAccess(location) });
      this.ociSources.set(key, source);
    }
    return source;
  }

  private async registryAccess(location: OciLocation): Promise<RegistryAccess> {
    const secret = await this.secret({ ...location, url: location.oci.registry });
    if (!secret) return {};
    return registryAccessFromSecret(secret, location.oci.registry, `${location.namespace}/${location.secretName}`);
  }

  /** Refreshes a store once (later refreshes come from the upstream watcher or from `invalidate`). */
  async ensureRefreshed(store: GitStore): Promise<void> {
    let refresh = this.refreshed.get(store);
    if (!refresh) {
      refresh = store.refresh();
      this.refreshed.set(store, refresh);
      refresh.catch(() => this.refreshed.delete(store));
    }
    await refresh;
  }

  /** Forgets that a store was refreshed, so that the next use fetches again. */
  invalidate(store: GitStore): void {
    this.refreshed.delete(store);
  }

  all(): GitStore[] {
    return [...this.stores.values()];
  }

  close(): void {
    for (const store of this.stores.values()) store.close();
    this.stores.clear();
    this.secrets.clear();
    this.refreshed.clear();
    this.ociSources.clear();
  }

  private async secret(location: { namespace: string; url: string; secretName?: string }): Promise<Secret | undefined> {
    if (!location.secretName) return undefined;
    const secret = await this.objects.get('Secret', { namespace: location.namespace, name: location.secretName });
    if (!secret)
      throw new Error(
        `Secret ${location.namespace}/${location.secretName} not found (credentials for ${location.url})`,
      );
    return secret;
  }
}
