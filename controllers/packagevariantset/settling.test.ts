import { describe, expect, it } from '@jest/globals';
import { SetSettling } from './settling.ts';

function settlingWith(timeoutMs = 60_000) {
  const settled: [string, boolean][] = [];
  const versions = new Map<string, string>();
  const settling = new SetSettling({
    timeoutMs,
    onSettled: (key, timedOut) => settled.push([key, timedOut]),
    cachedVersion: (key) => versions.get(key),
  });
  return { settling, settled, versions };
}

describe('SetSettling', () => {
  it('settles once every pending variant reconciled and its status write reached the cache', () => {
    const { settling, settled } = settlingWith();
    settling.wait('ns/web', ['ns/a', 'ns/b']);
    settling.reconciled('ns/web', 'ns/a', undefined); // nothing written
    settling.reconciled('ns/web', 'ns/b', '12');
    expect(settled).toEqual([]);
    settling.cached('ns/web', 'ns/b', '11'); // an older version: still waiting
    expect(settled).toEqual([]);
    settling.cached('ns/web', 'ns/b', '12');
    expect(settled).toEqual([['ns/web', false]]);
    expect(settling.has('ns/web')).toBe(false);
    settling.clear();
  });

  it('does not wait forever when the cache delivered the write, and a newer version, before the reconcile ended', () => {
    const { settling, settled } = settlingWith();
    settling.wait('ns/web', ['ns/a']);
    settling.cached('ns/web', 'ns/a', '12'); // the status write
    settling.cached('ns/web', 'ns/a', '13'); // e.g. the set's own annotation update right after
    settling.reconciled('ns/web', 'ns/a', '12');
    expect(settled).toEqual([['ns/web', false]]);
  });

  it('counts a status write the cache delivered before the variant became pending', () => {
    const { settling, settled, versions } = settlingWith();
    versions.set('ns/a', '12'); // the running reconcile's status write is in the cache already
    settling.wait('ns/web', ['ns/a']);
    settling.cached('ns/web', 'ns/a', '13');
    settling.reconciled('ns/web', 'ns/a', '12');
    expect(settled).toEqual([['ns/web', false]]);
  });

  it('ignores variants that are not pending and sets that do not wait', () => {
    const { settling, settled } = settlingWith();
    settling.reconciled('ns/web', 'ns/a', '1');
    settling.cached('ns/web', 'ns/a', '1');
    settling.wait('ns/web', ['ns/a']);
    settling.reconciled('ns/web', 'ns/other', undefined);
    expect(settled).toEqual([]);
    expect(settling.has('ns/web')).toBe(true);
    settling.clear();
    expect(settling.has('ns/web')).toBe(false);
  });

  it('settles after the timeout when a variant never reports', async () => {
    const { settling, settled } = settlingWith(10);
    settling.wait('ns/web', ['ns/a']);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toEqual([['ns/web', true]]);
  });
});
