// Who a draft belongs to, read from the draft's own commits.
//
// A draft branch is the deployment branch plus the draft's commits. The draft's commits are the
// first-parent chain from its head down to the commit it branched from: the walk stops at a commit
// of the deployment branch's first-parent history, or at a commit that belongs to another revision
// of the package (an approval, another workspace's draft), since a draft never starts above one.
// Of the commits on that chain:
// - a commit whose `kpt:` annotation names this package, this workspace and revision "0" and that
//   carries owner trailers was written by a PackageVariant controller for that owner;
// - every other commit above the oldest such one was written by someone else (a person, Porch, a
//   bot): a *foreign* commit. The draft is theirs too: it is never deleted and never published
//   automatically while it carries one.
// The owner is the one recorded by the newest controller commit (an adopting variant takes over by
// writing the next commit). Commits below the oldest annotated one are the deployment branch's
// history, however they were written, and say nothing about the draft; a branch without any
// annotated commit (made by hand) is all foreign.
import { parseCommitMessage, type Owner, type RecordedConflict } from './message.ts';

export interface DraftHistory {
  /** The owner recorded by the newest controller commit on the draft. */
  owner?: Owner;
  /** Commits on the draft (newest first) that no controller wrote for this draft's owner. */
  foreignCommits: string[];
  /** Merge conflicts recorded by the newest controller commit (carried until the draft is published). */
  conflicts: RecordedConflict[];
  /** The commit the draft started from (the first parent of its oldest own commit), when known. */
  base?: string;
}

export interface HistoryCommit {
  parents: string[];
  message: string;
}

/** How far a walk goes: drafts are short; a deployment branch's history is not read past this. */
export const DRAFT_WALK_LIMIT = 200;

export async function readDraftHistory(
  head: string,
  draft: { pkgPath: string; workspace: string },
  read: (oid: string) => Promise<HistoryCommit>,
  isBranchHistory: (oid: string) => boolean,
): Promise<DraftHistory> {
  const chain: Array<{ oid: string; parent?: string; ours: boolean; owner?: Owner; conflicts: RecordedConflict[] }> =
    [];
  let oid: string | undefined = head;
  for (let i = 0; oid && i < DRAFT_WALK_LIMIT && !isBranchHistory(oid); i++) {
    const commit = await read(oid);
    const parsed = parseCommitMessage(commit.message);
    const forPackage = parsed.annotations.filter((a) => a.package === draft.pkgPath);
    const ours = forPackage.some((a) => a.workspaceName === draft.workspace && (a.revision ?? '0') === '0');
    if (!ours && forPackage.length) break; // another revision of the package: the draft started above it
    chain.push({
      oid,
      ...(commit.parents[0] ? { parent: commit.parents[0] } : {}),
      ours,
      ...(ours && parsed.owner ? { owner: parsed.owner } : {}),
      conflicts: parsed.conflicts ?? [],
    });
    oid = commit.parents[0];
  }
  // Without any annotated commit (a branch someone made by hand), every commit on it is theirs.
  let oldest = chain.length - 1;
  if (chain.some((c) => c.ours)) while (!chain[oldest]!.ours) oldest--;
  const own = chain.slice(0, oldest + 1);
  const newestOwned = own.find((c) => c.owner);
  const base = own[own.length - 1]?.parent;
  return {
    ...(base ? { base } : {}),
    ...(newestOwned?.owner ? { owner: newestOwned.owner } : {}),
    foreignCommits: own.filter((c) => !c.owner || !sameOwner(c.owner, newestOwned?.owner)).map((c) => c.oid),
    conflicts: newestOwned?.conflicts ?? [],
  };
}

function sameOwner(a: Owner, b: Owner | undefined): boolean {
  return !!b && a.namespace === b.namespace && a.name === b.name && a.uid === b.uid;
}
