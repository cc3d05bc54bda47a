// Target unrolling: each target of a set becomes an ordered list of contexts, one per variant to
// render — explicit repositories (× package names), Repositories selected by label, or objects of
// any kind selected by label in the set's namespace.
import {
  API_VERSION,
  REPOSITORY_KIND,
  type KubeObject,
  type PackageVariantSet,
  type PackageVariantTemplate,
} from '../../api/v1alpha1/index.ts';
import type { GroupVersionKind, ObjectStore } from '../store.ts';

export interface TargetContext {
  /** Index of the target in `spec.targets`. */
  target: number;
  template?: PackageVariantTemplate;
  repoDefault: string;
  packageDefault: string;
  /** The selected object (a Repository for `repositorySelector`); absent for `repositories` targets. */
  object?: KubeObject;
}

/** Listing the objects a selector names failed; `reason` is Porch's condition reason. */
export class TargetListError extends Error {
  readonly reason: 'NoMatchingTargets' | 'UnexpectedError';
  constructor(reason: 'NoMatchingTargets' | 'UnexpectedError', message: string) {
    super(message);
    this.name = 'TargetListError';
    this.reason = reason;
  }
}

/** The GVKs a set selects objects of (what a manager must watch for it). */
export function selectedKinds(pvs: PackageVariantSet): GroupVersionKind[] {
  const kinds = new Map<string, GroupVersionKind>();
  for (const target of pvs.spec?.targets ?? []) {
    const gvk = target.repositorySelector
      ? { apiVersion: API_VERSION, kind: REPOSITORY_KIND }
      : target.objectSelector
        ? { apiVersion: target.objectSelector.apiVersion, kind: target.objectSelector.kind }
        : undefined;
    if (gvk) kinds.set(`${gvk.apiVersion}/${gvk.kind}`, gvk);
  }
  return [...kinds.values()];
}

const byName = (a: KubeObject, b: KubeObject) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');

// The API server answers an unknown kind with 404 / "no matches for kind"; the local store with nothing.
const UNKNOWN_KIND = /no matches for kind|could not find the requested resource|not found|404/i;

export async function unrollTargets(pvs: PackageVariantSet, objects: ObjectStore): Promise<TargetContext[]> {
  const namespace = pvs.metadata?.namespace ?? 'default';
  const upstreamPackage = pvs.spec?.upstream?.package ?? '';
  const contexts: TargetContext[] = [];
  for (const [i, target] of (pvs.spec?.targets ?? []).entries()) {
    const template = target.template ? { template: target.template } : {};
    if (target.repositories) {
      for (const repo of target.repositories) {
        const names = repo.packageNames?.length ? repo.packageNames : [upstreamPackage];
        for (const name of names) {
          contexts.push({ target: i, ...template, repoDefault: repo.name, packageDefault: name });
        }
      }
      continue;
    }
    let selected: KubeObject[];
    try {
      if (target.repositorySelector) {
        selected = await objects.list('Repository', namespace, target.repositorySelector);
      } else if (target.objectSelector) {
        const { apiVersion, kind, matchLabels, matchExpressions } = target.objectSelector;
        selected = await objects.listObjects({ apiVersion, kind }, namespace, {
          ...(matchLabels ? { matchLabels } : {}),
          ...(matchExpressions ? { matchExpressions } : {}),
        });
      } else {
        continue;
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new TargetListError(UNKNOWN_KIND.test(message) ? 'NoMatchingTargets' : 'UnexpectedError', message);
    }
    for (const object of [...selected].sort(byName)) {
      contexts.push({
        target: i,
        ...template,
        repoDefault: object.metadata?.name ?? '',
        packageDefault: upstreamPackage,
        object,
      });
    }
  }
  return contexts;
}
