import { describe, expect, it } from '@jest/globals';
import { apiHost, formatReference, InvalidReferenceError, parseReference } from './reference.ts';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  it.each([
    ['nginx', { registry: 'docker.io', repository: 'library/nginx', tag: 'latest' }],
    ['user/app:1.0', { registry: 'docker.io', repository: 'user/app', tag: '1.0' }],
    ['index.docker.io/user/app', { registry: 'docker.io', repository: 'user/app', tag: 'latest' }],
    ['localhost/app', { registry: 'localhost', repository: 'app', tag: 'latest' }],
    ['127.0.0.1:5000/bp/app:v3', { registry: '127.0.0.1:5000', repository: 'bp/app', tag: 'v3' }],
    ['ghcr.io/org/a/b@' + D, { registry: 'ghcr.io', repository: 'org/a/b', digest: D }],
    ['ghcr.io/org/b:v1@' + D, { registry: 'ghcr.io', repository: 'org/b', tag: 'v1', digest: D }],
    ['reg:443/a_b.c__d-e', { registry: 'reg:443', repository: 'a_b.c__d-e', tag: 'latest' }],
  ])('%s', (text, expected) => {
    expect(parseReference(text)).toEqual(expected);
  });

  it.each([
    '',
    'Upper/app',
    'ghcr.io/Org/app',
    'ghcr.io/app:bad tag',
    'ghcr.io/app:-x',
    'ghcr.io/app@sha256:abc',
    'ghcr.io/app@md5:' + 'a'.repeat(32),
    'https://ghcr.io/app',
    'ghcr.io//app',
    'ghcr.io/app/',
    'ghcr.io/a..b',
    'ghcr.io/-a',
  ])('refuses %j', (text) => {
    expect(() => parseReference(text)).toThrow(InvalidReferenceError);
  });

  it('formats back and maps Docker Hub to its API host', () => {
    expect(formatReference(parseReference('nginx:1'))).toBe('docker.io/library/nginx:1');
    expect(apiHost('docker.io')).toBe('registry-1.docker.io');
    expect(apiHost('127.0.0.1:5000')).toBe('127.0.0.1:5000');
  });
});
