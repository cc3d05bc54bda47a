// The upstream source on one OCI repository (registry + repository path), holding kpt packages in
// the format of lib/oci/package.ts: a Repository of `type: oci` (one image per package) or a
// variant's `spec.upstream.oci`.
//
// * The package is the whole image: its package name is '' (as a git package at the repository's
//   root). `watchPackage('')` is the repository path, and back; any other name is not found here.
// * Revisions are tags; a revision's identity (`commit`, and its `tree`) is the manifest digest.
// * `heads()` is one tag list (all its pages) plus a HEAD per tag for its digest: tag → digest.
//   `sync(heads)` records them; `sync()` lists once (until `invalidate`), as a git source fetches
//   once and leaves later polls to the watcher. Tracks resolve against the recorded heads.
// * Tracks: `latest` (the default, `defaultRef`): the highest semver-like tag (`vN`, `vX.Y.Z`),
//   else the tag `latest`; `@sha256:…` pins a digest (known when a recorded tag names it, else
//   checked with one HEAD); `revision:<n>` is the tag `v<n>`; `workspace:<w>`, `tag:<t>` or a
//   plain `<t>` is that tag (`tag:latest` is the tag, not the default).
// * `url` is `oci://registry/repository` (kpt's notation for OCI locations), and so is the lock's
//   `repo`: the Kptfile keeps kpt's git-shaped lock, which every kpt reads (its strict reader knows
//   no other origin type), with `ref` the tag (or the digest when pinned) and `commit` the digest.
// * Credentials and CA come from `access`, asked on each use (a rotated Secret takes effect).
import type { UpstreamRevision as LockRevision } from '../../lib/merge/upgrade.ts';
import { createHash } from 'node:crypto';
import { OciClient, OciNotFoundError, type Credentials } from '../../lib/oci/client.ts';
import type { RegistryAccess } from '../../lib/oci/credentials.ts';
import { pullPackage, type PackageLimits } from '../../lib/oci/package.ts';
import { isDigest, isTag, type ImageReference } from '../../lib/oci/reference.ts';
import { UpstreamNotFoundError, type PackageContent, type TrackedRevision, type UpstreamSource } from './source.ts';

export const DEFAULT_OCI_TRACK = 'latest';
export const OCI_URL_PREFIX = 'oci://';
/** How many tag HEADs `heads()` has in flight at once. */
const HEAD_CONCURRENCY = 8;

export interface OciSourceOptions {
  /** `host[:port]`, as in an image reference. */
  registry: string;
  /** The repository path, e.g. `blueprints/app`. */
  repository: string;
  credentials?: Credentials;
  /** Extra trusted CA certificates (PEM). */
  ca?: string | Buffer;
  /** Credentials and CA asked on each use (e.g. from a Secret); instead of `credentials` and `ca`. */
  access?: () => Promise<RegistryAccess>;
  plainHttp?: boolean;
  limits?: PackageLimits;
}

/** `vN` or `vX.Y.Z` as numbers (`vN` is N.0.0), undefined for other tags. */
function versionOf(tag: string): [number, number, number] | undefined {
  const m = /^v(\d+)(?:\.(\d+)\.(\d+))?$/.exec(tag);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

function compareVersions(a: [number, number, number], b: [number, number, number]): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

export class OciSource implements UpstreamSource {
  readonly kind = 'oci';
  readonly defaultRef = DEFAULT_OCI_TRACK;
  private readonly image: Pick<ImageReference, 'registry' | 'repository'>;
  private readonly access: () => Promise<RegistryAccess>;
  private readonly plainHttp: boolean;
  private readonly limits: PackageLimits;
  /** The client for the last access seen (its token cache lives as long as the access is the same). */
  private connection?: { key: string; client: OciClient };
  /** tag → manifest digest, as the last sync saw them; undefined before the first. */
  private tags?: Map<string, string>;
  private listing?: Promise<void>;

  constructor(options: OciSourceOptions) {
    this.image = { registry: options.registry, repository: options.repository };
    const fixed: RegistryAccess = {
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(options.ca !== undefined ? { ca: options.ca.toString() } : {}),
    };
    this.access = options.access ?? (() => Promise.resolve(fixed));
    this.plainHttp = options.plainHttp ?? false;
    this.limits = options.limits ?? {};
  }

  /** `oci://registry/repository` (no tag). */
  get url(): string {
    return `${OCI_URL_PREFIX}${this.image.registry}/${this.image.repository}`;
  }

  private async client(): Promise<OciClient> {
    const access = await this.access();
    const key = createHash('sha256')
      .update(JSON.stringify([access.credentials ?? null, access.ca ?? null]))
      .digest('hex');
    if (this.connection?.key !== key) {
      const client = new OciClient({
        ...(access.credentials ? { credentials: access.credentials } : {}),
        ...(access.ca !== undefined ? { ca: access.ca } : {}),
        ...(this.plainHttp ? { plainHttp: true } : {}),
      });
      this.connection = { key, client };
    }
    return this.connection.client;
  }

  watchPackage(packageName: string): string {
    return packageName === '' ? this.image.repository : packageName;
  }

  packageNameOf(watchPackage: string): string | undefined {
    return watchPackage === this.image.repository || watchPackage === '' ? '' : undefined;
  }

  async heads(): Promise<Map<string, string>> {
    let tags: string[];
    try {
      tags = await (await this.client()).listTags(this.image);
    } catch (error) {
      // A repository nothing was pushed to yet: no tags (resolving then finds nothing).
      if (error instanceof OciNotFoundError) return new Map();
      throw error;
    }
    const client = await this.client();
    const digests = new Map<string, string>();
    const queue = [...new Set(tags)].sort();
    const worker = async () => {
      for (let tag = queue.shift(); tag !== undefined; tag = queue.shift()) {
        const found = await client.headManifest({ ...this.image, tag });
        if (found) digests.set(tag, found.digest); // a tag deleted since the list: left out
      }
    };
    await Promise.all(Array.from({ length: Math.min(HEAD_CONCURRENCY, queue.length) }, worker));
    return new Map([...digests].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  async sync(heads?: Map<string, string>): Promise<void> {
    if (heads) {
      this.tags = new Map(heads);
      return;
    }
    if (this.tags) return;
    this.listing ??= this.heads()
      .then((listed) => {
        this.tags ??= listed;
      })
      .finally(() => (this.listing = undefined));
    await this.listing;
  }

  /** The next `sync()` lists the tags again. */
  invalidate(): void {
    this.tags = undefined;
  }

  private async recorded(): Promise<Map<string, string>> {
    await this.sync();
    return this.tags!;
  }

  private notFound(what: string): UpstreamNotFoundError {
    return new UpstreamNotFoundError(`${what} not found in ${this.url}`);
  }

  async resolve(packageName: string, track: string): Promise<TrackedRevision> {
    if (packageName !== '') throw this.notFound(`package ${packageName} (an OCI image holds one package, '')`);
    const tags = await this.recorded();
    if (track.startsWith('@')) {
      const digest = track.slice(1);
      if (!isDigest(digest)) throw this.notFound(`digest ${digest} (not sha256: and 64 hex digits)`);
      if (!(await this.exists(digest))) throw this.notFound(`digest ${digest}`);
      return { ref: digest, commit: digest };
    }
    if (track === DEFAULT_OCI_TRACK || track === '') {
      let best: { tag: string; version: [number, number, number] } | undefined;
      for (const tag of tags.keys()) {
        const version = versionOf(tag);
        if (version && (!best || compareVersions(version, best.version) > 0)) best = { tag, version };
      }
      const tag = best?.tag ?? 'latest';
      if (!tags.has(tag)) throw this.notFound('no version tag (vN, vX.Y.Z) and no tag latest');
      return this.tagged(tag, tags.get(tag)!);
    }
    let tag = track;
    if (track.startsWith('revision:')) tag = `v${track.slice('revision:'.length)}`;
    else if (track.startsWith('workspace:')) tag = track.slice('workspace:'.length);
    else if (track.startsWith('tag:')) tag = track.slice('tag:'.length);
    if (!isTag(tag)) throw this.notFound(`tag ${JSON.stringify(tag)} (not a valid tag)`);
    const digest = tags.get(tag);
    if (!digest) throw this.notFound(`tag ${tag}`);
    return this.tagged(tag, digest);
  }

  private tagged(tag: string, digest: string): TrackedRevision {
    const version = /^v(\d+)$/.exec(tag);
    return { ref: tag, commit: digest, ...(version && Number(version[1]) > 0 ? { revision: Number(version[1]) } : {}) };
  }

  /** The manifest digest itself (an image's identity is its content), when the image exists. */
  async packageTree(packageName: string, commit: string): Promise<string | undefined> {
    if (packageName !== '' || !isDigest(commit)) return undefined;
    return (await this.exists(commit)) ? commit : undefined;
  }

  /** Whether the manifest `digest` exists: a recorded tag names it, else one HEAD asks. */
  private async exists(digest: string): Promise<boolean> {
    if ([...(this.tags?.values() ?? [])].includes(digest)) return true;
    return (await (await this.client()).headManifest({ ...this.image, digest })) !== undefined;
  }

  async read(packageName: string, commit: string): Promise<PackageContent> {
    if (packageName !== '') throw this.notFound(`package ${packageName}`);
    if (!isDigest(commit)) throw this.notFound(`digest ${commit} (not sha256: and 64 hex digits)`);
    try {
      const { files, modes } = await pullPackage(await this.client(), { ...this.image, digest: commit }, this.limits);
      return { files, modes };
    } catch (error) {
      if (error instanceof OciNotFoundError) throw this.notFound(`digest ${commit}`);
      throw error;
    }
  }

  /** kpt's git-shaped lock: `oci://registry/repository` in `repo`, the tag (or digest) in `ref`, the digest in `commit`. */
  lock(_packageName: string, revision: TrackedRevision): LockRevision {
    return { repo: this.url, directory: '', ref: revision.ref, commit: revision.commit };
  }
}
