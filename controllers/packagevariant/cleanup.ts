// What deleting a variant does to git (`deletionPolicy: delete`): its drafts go, its published
// revisions are proposed for deletion; a draft carrying commits the controller did not write is kept.
// Pure: the reconciler observes the revisions and pushes the operations.
import type { BatchOp, BatchResult } from '../../lib/git/batch.ts';
import type { Owner } from '../../lib/git/message.ts';
import type { PackageRevision } from '../../lib/git/store.ts';
import { isOwnedBy } from './downstream.ts';

export interface CleanupPlan {
  ops: BatchOp[];
  /** Owned drafts left in place, with why. */
  kept: PackageRevision[];
}

export function planCleanup(revisions: readonly PackageRevision[], owner: Owner, packageName: string): CleanupPlan {
  const ops: BatchOp[] = [];
  const kept: PackageRevision[] = [];
  for (const revision of revisions) {
    if (!isOwnedBy(revision, owner)) continue;
    if (revision.lifecycle === 'Draft' || revision.lifecycle === 'Proposed') {
      if (revision.foreignCommits?.length) kept.push(revision);
      else
        ops.push({ kind: 'deleteDraft', packageName, workspace: revision.workspace, expectedCommit: revision.commit });
    } else if (revision.lifecycle === 'Published') {
      ops.push({ kind: 'proposeDelete', packageName, revision: revision.revision });
    }
  }
  return { ops, kept };
}

/** Results that leave the cleanup unfinished (a ref that moved, a push refused). */
export function incompleteCleanup(results: readonly BatchResult[]): BatchResult[] {
  return results.filter((r) => !['deleted', 'created', 'not-found', 'already-exists'].includes(r.status));
}
