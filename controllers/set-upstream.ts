// A PackageVariantSet's look at its upstream (git or OCI), for the set reconciler (which has no git of
// its own): the PackageVariant reconciler's resolution (track, revision, package tree), so that a
// set says UpstreamNotFound exactly when its variants would, before it renders any of them.
import type { PackageVariant, PackageVariantSet, Repository } from '../api/v1alpha1/index.ts';
import type { GitStores } from './packagevariant/git-stores.ts';
import { resolveUpstream, upstreamLocation, UpstreamNotFoundError } from './packagevariant/upstream.ts';

/** Porch's wording for the revision a set names: its number, else its workspace, else `latest`. */
function revisionOf(upstream: NonNullable<NonNullable<PackageVariantSet['spec']>['upstream']>): string {
  if (upstream.revision && upstream.revision > 0) return String(upstream.revision);
  return upstream.workspaceName || 'latest';
}

/** The set reconciler's `findUpstream`: a message when the set's upstream package revision does not exist. */
export function setUpstreamFinder(stores: GitStores) {
  return async (pvs: PackageVariantSet, repository: Repository): Promise<string | undefined> => {
    if (repository.spec?.type !== 'oci' && !repository.spec?.git) return undefined;
    const upstream = pvs.spec!.upstream!;
    const variant = { metadata: { namespace: pvs.metadata?.namespace }, spec: { upstream } } as PackageVariant;
    const location = upstreamLocation(variant, repository);
    const source = stores.source(location);
    await source.sync();
    try {
      await resolveUpstream(variant, source);
      return undefined;
    } catch (error) {
      if (!(error instanceof UpstreamNotFoundError)) throw error;
      // Fetch again next time: nothing may poll this repository while the set has no variants.
      await stores.invalidateSource(location);
      return `could not find upstream package revision '${upstream.package}/${revisionOf(upstream)}' in repo '${upstream.repo}': ${error.message}`;
    }
  };
}
