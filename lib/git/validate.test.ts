import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  checkFilePath,
  checkPackagePath,
  checkRefName,
  checkWorkspaceName,
  GitInputError,
  normalizeDirectory,
} from './validate.ts';
import { parseRemoteUrl } from './url.ts';

describe('validate', () => {
  it.each(['team/app', 'a', 'a_b/c.d-e', 'blueprints/net/basens'])('accepts package path %s', (path) => {
    expect(checkPackagePath(path)).toBeUndefined();
  });

  it.each([
    ['', 'empty'],
    ['/abs', 'relative'],
    ['a/../b', "'..'"],
    ['..', "'..'"],
    ['a/./b', "'.'"],
    ['-rf', "'-'"],
    ['a/-x', "'-'"],
    ['a//b', 'empty segments'],
    ['a/', 'empty segments'],
    ['a\nb', 'control'],
    ['a\u0000b', 'control'],
    ['a b', 'whitespace'],
    ['a:b', '~^:?*['],
    ['a~1', '~^:?*['],
    ['x.lock', '.lock'],
    ['.hidden', "start with '.'"],
    ['a@{1}', "'@{'"],
  ])('rejects package path %j (%s)', (path, reason) => {
    expect(checkPackagePath(path)).toContain(reason);
  });

  it('rejects workspaces with slashes or option-like names', () => {
    expect(checkWorkspaceName('ws/1')).toContain("'/'");
    expect(checkWorkspaceName('--upload-pack=x')).toContain("'-'");
    expect(checkWorkspaceName('packagevariant-1')).toBeUndefined();
  });

  it('rejects file paths that escape the package or touch .git', () => {
    expect(checkFilePath('a/b.yaml')).toBeUndefined();
    expect(checkFilePath('with space.yaml')).toBeUndefined();
    expect(checkFilePath('../x')).toContain("'..'");
    expect(checkFilePath('/etc/passwd')).toContain('relative');
    expect(checkFilePath('.git/config')).toContain('.git');
    expect(checkFilePath('a/.GIT/hooks/x')).toContain('.git');
    expect(checkFilePath('a\tb')).toContain('control');
  });

  it('accepts file names that are not UTF-8 (one spelling each), not in package paths or refs', () => {
    expect(checkFilePath('dir/a\udce9.txt')).toBeUndefined();
    expect(checkFilePath('a\udce9/../x')).toContain("'..'");
    expect(checkFilePath('a\udce9\u0001')).toContain('control');
    expect(checkFilePath('\udcc3\udca9')).toContain('lone surrogate'); // é, spelled as two escaped bytes
    expect(checkFilePath('a\ud800')).toContain('lone surrogate');
    expect(checkPackagePath('a\udce9')).toContain('UTF-8');
    expect(checkWorkspaceName('ws\udce9')).toContain('UTF-8');
    expect(checkPackagePath('café/😀')).toBeUndefined();
  });

  it('normalizes the repository directory like Porch', () => {
    expect(normalizeDirectory('/blueprints/')).toBe('blueprints');
    expect(normalizeDirectory('/')).toBe('');
    expect(normalizeDirectory(undefined)).toBe('');
    expect(() => normalizeDirectory('a/../b')).toThrow(GitInputError);
  });

  it('never accepts a path segment git would parse as an option or a parent directory', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        if (checkRefName(s) === undefined) {
          for (const part of s.split('/')) {
            expect(part.startsWith('-')).toBe(false);
            expect(part).not.toBe('..');
            // eslint-disable-next-line no-control-regex
            expect(/[\u0000-\u0020\u007f]/.test(part)).toBe(false);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseRemoteUrl', () => {
  it.each([
    ['https://example.com/org/repo.git', 'https'],
    ['http://127.0.0.1:8080/r.git', 'http'],
    ['ssh://git@example.com/org/repo.git', 'ssh'],
    ['git@github.com:org/repo.git', 'ssh'],
    ['file:///srv/git/r.git', 'file'],
    ['/srv/git/r.git', 'file'],
    ['git://example.com/r.git', 'git'],
  ])('accepts %s as %s', (url, transport) => {
    expect(parseRemoteUrl(url).transport).toBe(transport);
  });

  it.each([
    ['ext::sh -c touch% /tmp/pwned', 'remote helpers'],
    ['ext::sh', 'remote helpers'],
    ['fd::17', 'remote helpers'],
    ['--upload-pack=touch /tmp/x', 'whitespace'],
    ['-oProxyCommand=x', "'-'"],
    ['https://user:secret@example.com/r.git', 'credentials'],
    ['https://token@example.com/r.git', 'user name'],
    ['ftp://example.com/r.git', 'not allowed'],
    ['relative/path', 'must be'],
    ['', 'empty'],
  ])('refuses %s', (url, reason) => {
    expect(() => parseRemoteUrl(url)).toThrow(reason);
  });

  it('never repeats credentials in its error message', () => {
    try {
      parseRemoteUrl('https://user:hunter2@example.com/r.git');
      throw new Error('accepted');
    } catch (e) {
      expect((e as Error).message).not.toContain('hunter2');
    }
  });
});
