import { describe, expect, it } from '@jest/globals';
import { formatCommitMessage, parseCommit, parseCommitMessage } from './message.ts';

describe('commit messages', () => {
  it('writes exactly Porch bytes without body and owner', () => {
    const message = formatCommitMessage({
      title: 'Approving package revision blueprints/basens/1',
      annotation: { package: 'blueprints/basens', workspaceName: 'ws1', revision: '1' },
    });
    expect(message).toBe(
      'Approving package revision blueprints/basens/1\n\n\nkpt:{"package":"blueprints/basens","workspaceName":"ws1","revision":"1"}\n',
    );
  });

  it('records the owner next to the kpt: trailer and reads it back', () => {
    const message = formatCommitMessage({
      title: 'Upgrading revision',
      body: 'conflicts:\n- spec.replicas',
      annotation: { package: 'p', workspaceName: 'packagevariant-2', revision: '0', task: { type: 'upgrade' } },
      owner: { namespace: 'team-a', name: 'my-pv', uid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427' },
    });
    expect(message).toContain('\n\nconflicts:\n- spec.replicas\n\nkpt:{');
    expect(message).toMatch(
      /\nPackagevariant-Owner: team-a\/my-pv\nPackagevariant-Owner-Uid: 1b4e28ba-2fa1-11d2-883f-0016d3cca427\n$/,
    );
    const parsed = parseCommitMessage(message);
    expect(parsed.title).toBe('Upgrading revision');
    expect(parsed.owner).toEqual({ namespace: 'team-a', name: 'my-pv', uid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427' });
    expect(parsed.annotations).toEqual([
      { package: 'p', workspaceName: 'packagevariant-2', revision: '0', task: { type: 'upgrade' } },
    ]);
  });

  it('reads legacy Porch annotations and ignores malformed ones', () => {
    const parsed = parseCommitMessage(
      'Intermediate commit: init\n\nkpt:{"package":"draft-pkg","revision":"v1"}\n  kpt:{broken\n',
    );
    expect(parsed.annotations).toEqual([{ package: 'draft-pkg', revision: 'v1' }]);
    expect(parsed.owner).toBeUndefined();
  });

  it('refuses titles and owners that would forge trailers', () => {
    expect(() => formatCommitMessage({ title: 'x\nPackagevariant-Owner: evil/x' })).toThrow('newlines');
    expect(() => formatCommitMessage({ title: 't', owner: { namespace: 'a\nb', name: 'n' } })).toThrow(
      'owner namespace',
    );
  });

  it('parses raw commit objects', () => {
    const raw = Buffer.from(
      'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 1111111111111111111111111111111111111111\nparent 2222222222222222222222222222222222222222\nauthor A <a@x> 1700000000 +0000\ncommitter C <c@x> 1700000001 +0000\n\nhello\n',
    );
    const commit = parseCommit(raw);
    expect(commit.tree).toBe('4b825dc642cb6eb9a060e54bf8d69288fbee4904');
    expect(commit.parents).toHaveLength(2);
    expect(commit.time).toBe(1700000001);
    expect(commit.message).toBe('hello\n');
  });
});
