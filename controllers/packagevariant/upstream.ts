// Resolving what a variant's upstream is right now: repository, package, commit and package tree,
// through the upstream source port (controllers/upstream/source.ts). Without a pinned revision the
// newest published revision is followed; a repository without published revisions of the package
// (a plain git repository) is followed on its branch.
import type { PackageVariant, Repository } from '../../api/v1alpha1/index.ts';
import type { UpstreamRevision as LockRevision } from '../../lib/merge/upgrade.ts';
import { parseReference } from '../../lib/oci/reference.ts';
import type { UpstreamWatch } from '../repositories/index.ts';
import { normalizeRepoUrl } from '../repositories/repo-url.ts';
import { DEFAULT_OCI_TRACK } from '../repositories/oci-source.ts';
import { UpstreamNotFoundError, type UpstreamSource } from '../repositories/source.ts';
import { locationOf, ociLocationOf, type UpstreamLocation } from './git-stores.ts';

export interface ResolvedUpstream {
  source: UpstreamSource;
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

export { UpstreamNotFoundError };

function shortRef(ref: string): string {
  return ref.replace(/^refs\/(heads|tags)\//, '');
}

/** Where the upstream is: the registered Repository (git, or OCI: the package's image), or `spec.upstream.git`/`oci`. */
export function upstreamLocation(pv: PackageVariant, repository: Repository | undefined): UpstreamLocation {
  const upstream = pv.spec!.upstream!;
  const namespace = pv.metadata?.namespace ?? 'default';
  if (upstream.oci) {
    const { registry, repository: image } = parseReference(upstream.oci.image);
    const secretName = upstream.oci.secretRef?.name;
    return { namespace, oci: { registry, repository: image }, ...(secretName ? { secretName } : {}) };
  }
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
  if (repository!.spec?.type === 'oci') return ociLocationOf(repository!, upstream.package!);
  return locationOf(repository!);
}

/** An image's track: `@<digest>` when pinned, `tag:<tag>` when it names one, else the default (highest version). */
function ociTrack(image: string): string {
  const reference = parseReference(image);
  if (reference.digest) return `@${reference.digest}`;
  const name = image.slice(image.lastIndexOf('/') + 1);
  return name.includes(':') ? `tag:${reference.tag}` : DEFAULT_OCI_TRACK;
}

/** What the upstream watcher follows: `ref:<ref>`, `workspace:<ws>`, `revision:<n>`, `latest`, or an image's track. */
export function trackOf(
  upstream: NonNullable<NonNullable<PackageVariant['spec']>['upstream']>,
  branch: string,
): string {
  if (upstream.oci) return ociTrack(upstream.oci.image);
  if (upstream.git) return `ref:${upstream.git.ref || branch}`;
  if (upstream.workspaceName) return `workspace:${upstream.workspaceName}`;
  if (upstream.revision && upstream.revision > 0) return `revision:${upstream.revision}`;
  return 'latest';
}

/** Resolves the upstream of `pv` through its source (synced by the caller). */
export async function resolveUpstream(pv: PackageVariant, source: UpstreamSource): Promise<ResolvedUpstream> {
  const upstream = pv.spec!.upstream!;
  // An OCI source is the package's image: its one package is ''.
  const packageName =
    source.kind === 'oci'
      ? ''
      : upstream.git
        ? (upstream.git.directory ?? '').replace(/^\/+|\/+$/g, '')
        : upstream.package!;
  const track = trackOf(upstream, source.defaultRef);
  const watch = {
    repo: normalizeRepoUrl(source.url),
    package: upstream.git ? packageName : source.watchPackage(packageName),
    track,
  };
  const found = await source.resolve(packageName, track);
  const tree = await source.packageTree(packageName, found.commit);
  if (!tree) {
    throw new UpstreamNotFoundError(
      `package ${packageName} not found at ${shortRef(found.ref)} (${found.commit.slice(0, 12)}) in ${source.url}`,
    );
  }
  return {
    source,
    packageName,
    commit: found.commit,
    tree,
    ...(found.revision ? { revision: found.revision } : {}),
    lock: source.lock(packageName, found),
    watch,
  };
}
