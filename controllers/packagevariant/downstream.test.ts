// classifyDownstream: which revisions are the variant's drafts, which is the latest published one,
// and the next workspace name (Porch's rule), from revisions alone.
import { describe, expect, it } from '@jest/globals';
import type { PackageRevision } from '../../lib/git/store.ts';
import { classifyDownstream, nextWorkspaceName, revisionName } from './downstream.ts';

const owner = { namespace: 'default', name: 'east', uid: 'u-1' };
const other = { namespace: 'default', name: 'west', uid: 'u-2' };
function rev(
  lifecycle: PackageRevision['lifecycle'],
  workspace: string,
  over: Partial<PackageRevision> = {},
): PackageRevision {
  const draft = lifecycle === 'Draft' || lifecycle === 'Proposed';
  return {
    packagePath: 'east',
    packageName: 'east',
    lifecycle,
    workspace,
    revision: draft ? 0 : Number(/\d+$/.exec(workspace)?.[0] ?? 1),
    ref: `refs/heads/drafts/east/${workspace}`,
    commit: 'c'.repeat(40),
    owner,
    ...over,
  };
}

describe('classifyDownstream', () => {
  it("sorts the variant's drafts by workspace number and leaves others' drafts aside", () => {
    const state = classifyDownstream(
      [
        rev('Draft', 'packagevariant-10'),
        rev('Proposed', 'packagevariant-2'),
        rev('Draft', 'theirs', { owner: other }),
        rev('Draft', 'nobody', { owner: undefined }),
      ],
      owner,
      false,
    );
    expect(state.drafts.map((d) => d.workspace)).toEqual(['packagevariant-2', 'packagevariant-10']);
    expect(state.foreignDrafts.map((d) => d.workspace)).toEqual(['theirs', 'nobody']);
  });

  it('adoptExisting takes every draft', () => {
    const state = classifyDownstream([rev('Draft', 'theirs', { owner: other })], owner, true);
    expect(state.drafts.map((d) => d.workspace)).toEqual(['theirs']);
  });

  it('the latest published revision is the highest, whoever published it; owned ones are listed for cleanup', () => {
    const state = classifyDownstream(
      [
        rev('Published', 'packagevariant-1', { revision: 1 }),
        rev('Published', 'v2', { revision: 2, owner: undefined }),
        rev('DeletionProposed', 'packagevariant-3', { revision: 3, owner: other }),
        rev('Published', 'broken', { revision: 4, error: 'no Kptfile' }),
        rev('Published', 'main', { revision: -1 }),
      ],
      owner,
      false,
    );
    expect(state.published?.revision).toBe(3);
    expect(state.ownedPublished.map((r) => r.revision)).toEqual([1]);
  });

  it('names the next draft after the highest packagevariant-N of any revision, owned or not', () => {
    expect(nextWorkspaceName([])).toBe('packagevariant-1');
    expect(
      nextWorkspaceName([
        rev('Published', 'packagevariant-4', { revision: 1 }),
        rev('Draft', 'packagevariant-x'),
        rev('Draft', 'mine'),
      ]),
    ).toBe('packagevariant-5');
    expect(revisionName('deploy', 'sites/east', 'packagevariant-1')).toBe('deploy.sites.east.packagevariant-1');
  });
});
