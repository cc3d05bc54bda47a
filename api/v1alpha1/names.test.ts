import { describe, expect, it } from '@jest/globals';
import {
  checkBranchName,
  checkDirectory,
  checkGitUrl,
  checkPackagePath,
  checkWorkspaceName,
  redactUrl,
} from './names.ts';

describe('names', () => {
  it('package paths: relative, safe segments only', () => {
    for (const ok of ['nginx', 'team/app', 'a_b/c-d/e.f']) expect(checkPackagePath(ok)).toBeUndefined();
    for (const bad of [
      '',
      '/x',
      'a/../b',
      '..',
      '.hidden',
      '-x',
      'a/-x',
      'a b',
      'a\nb',
      'a/',
      'x.lock',
      'a~1',
      'a:b',
    ]) {
      expect(checkPackagePath(bad)).toBeDefined();
    }
  });

  it('workspace names are one segment', () => {
    expect(checkWorkspaceName('packagevariant-1')).toBeUndefined();
    expect(checkWorkspaceName('a/b')).toBeDefined();
    expect(checkWorkspaceName('--force')).toBeDefined();
  });

  it('directories allow Porch-style leading slashes', () => {
    for (const ok of ['', '/', '/blueprints', 'a/b/']) expect(checkDirectory(ok)).toBeUndefined();
    expect(checkDirectory('/a/../..')).toBeDefined();
  });

  it('branches follow git ref rules and refuse option-like names', () => {
    for (const ok of ['main', 'release/1.2', 'feature_x']) expect(checkBranchName(ok)).toBeUndefined();
    for (const bad of ['', '-b', 'a..b', 'a b', 'a~', 'a^', 'a:b', 'x.lock', '/a', 'a/', 'a/.b', 'a@{1}', 'a\u007f']) {
      expect(checkBranchName(bad)).toBeDefined();
    }
  });

  it('git URLs: allowed transports only, no credentials', () => {
    for (const ok of [
      'https://h/r.git',
      'http://127.0.0.1:8080/r',
      'ssh://git@h:22/r',
      'git@h:o/r.git',
      'file:///tmp/r',
    ]) {
      expect(checkGitUrl(ok)).toBeUndefined();
    }
    for (const bad of [
      '',
      'ext::sh',
      'fd::3',
      '-u',
      'ftp://h/r',
      'https://u:p@h/r',
      'https://h/r x',
      'relative/path',
    ]) {
      expect(checkGitUrl(bad)).toBeDefined();
    }
  });

  it('redactUrl hides passwords only', () => {
    expect(redactUrl('https://user:pw@h/r')).toBe('https://user:***@h/r');
    expect(redactUrl('https://h/r')).toBe('https://h/r');
    expect(redactUrl('git@h:o/r')).toBe('git@h:o/r');
  });
});
