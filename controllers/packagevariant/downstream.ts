// The downstream package revisions of a variant, read from git: which drafts it owns, which
// published revision is the latest (whoever published it), and how to name a new draft.
import type { PackageVariant } from '../../api/v1alpha1/index.ts';
import type { Owner } from '../../lib/git/message.ts';
import type { PackageRevision } from '../../lib/git/store.ts';

export const WORKSPACE_PREFIX = 'packagevariant-';

export interface DownstreamState {
  /** Draft and Proposed revisions this variant owns (or adopts), oldest workspace first. */
  drafts: PackageRevision[];
  /** Draft and Proposed revisions of the package that belong to someone else. */
  foreignDrafts: PackageRevision[];
  /** The newest Published (or DeletionProposed) revision, whoever published it. */
  published?: PackageRevision;
  /** Published revisions this variant owns (cleanup on deletion). */
  ownedPublished: PackageRevision[];
  /** The next free `packagevariant-<n>` workspace. */
  nextWorkspace: string;
}

export function ownerOf(pv: PackageVariant): Owner {
  return { namespace: pv.metadata?.namespace ?? 'default', name: pv.metadata?.name ?? '', uid: pv.metadata?.uid ?? '' };
}

/** Ownership is by UID, as Porch's owner references: a recreated variant of the same name must adopt. */
export function isOwnedBy(revision: PackageRevision, owner: Owner): boolean {
  return !!revision.owner?.uid && revision.owner.uid === owner.uid;
}

function workspaceNumber(workspace: string): number {
  if (!workspace.startsWith(WORKSPACE_PREFIX)) return 0;
  const n = Number(workspace.slice(WORKSPACE_PREFIX.length));
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** Porch's rule: `packagevariant-<max+1>` over every revision of the package, owned or not. */
export function nextWorkspaceName(revisions: readonly PackageRevision[]): string {
  const highest = Math.max(0, ...revisions.map((r) => workspaceNumber(r.workspace)));
  return `${WORKSPACE_PREFIX}${highest + 1}`;
}

export function classifyDownstream(
  revisions: readonly PackageRevision[],
  owner: Owner,
  adopt: boolean,
): DownstreamState {
  const usable = revisions.filter((r) => !r.error && r.revision >= 0);
  const isDraft = (r: PackageRevision) => r.lifecycle === 'Draft' || r.lifecycle === 'Proposed';
  const drafts = usable
    .filter((r) => isDraft(r) && (adopt || isOwnedBy(r, owner)))
    .sort(
      (a, b) => workspaceNumber(a.workspace) - workspaceNumber(b.workspace) || a.workspace.localeCompare(b.workspace),
    );
  const published = usable
    .filter((r) => r.lifecycle === 'Published' || r.lifecycle === 'DeletionProposed')
    .sort((a, b) => b.revision - a.revision);
  return {
    drafts,
    foreignDrafts: usable.filter((r) => isDraft(r) && !drafts.includes(r)),
    ...(published[0] ? { published: published[0] } : {}),
    ownedPublished: published.filter((r) => isOwnedBy(r, owner)),
    nextWorkspace: nextWorkspaceName(revisions),
  };
}

/** Porch's PackageRevision object name: `<repo>.<package path with dots>.<workspace>`. */
export function revisionName(repository: string, packageName: string, workspace: string): string {
  return `${repository}.${packageName.replaceAll('/', '.')}.${workspace}`;
}
