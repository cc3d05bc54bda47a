// The client and the package format against the real CNCF distribution registry (Debian's
// docker-registry, installed by scripts/system-deps.sh) on loopback, with TLS and basic auth.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { PackageModes } from '../kpt/package.ts';
import { OciAuthError, OciClient, OciError, OciLimitError, sha256 } from './client.ts';
import { packPackage, pullPackage, pushPackage } from './package.ts';
import { parseReference } from './reference.ts';
import { startRegistry, type TestRegistry } from './testing/registry.ts';

const USER = 'blueprints';
const PASSWORD = 'Pa55-w0rd-never-shown';
let registry: TestRegistry;
let client: OciClient;

const content = () => ({
  files: new Map([
    ['Kptfile', Buffer.from('apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: app\n')],
    ['deploy/app.yaml', Buffer.from('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n')],
    ['scripts/run.sh', Buffer.from('#!/bin/sh\necho run\n')],
    ['data.bin', Buffer.from([0, 1, 2, 255, 254])],
  ]),
  modes: new Map([
    ['scripts/run.sh', { kind: 'executable' }],
    ['deploy/current.yaml', { kind: 'symlink', target: Buffer.from('app.yaml') }],
  ]) as PackageModes,
});

beforeAll(async () => {
  registry = await startRegistry({ tls: true, username: USER, password: PASSWORD });
  client = new OciClient({ ca: registry.ca!, credentials: { username: USER, password: PASSWORD } });
}, 30_000);

afterAll(async () => {
  await registry?.stop();
});

const ref = (s: string) => parseReference(`${registry.host}/${s}`);

describe('a real registry (TLS, basic auth)', () => {
  it('pushes a package, lists its tags, and pulls it back byte for byte with modes', async () => {
    const digest = await pushPackage(client, ref('bp/app:v1'), content());
    expect(digest).toBe(packPackage(content()).digest);
    const changed = content();
    changed.files.set('deploy/app.yaml', Buffer.from('changed\n'));
    await pushPackage(client, ref('bp/app:v2'), changed);
    expect((await client.listTags(ref('bp/app'))).sort()).toEqual(['v1', 'v2']);
    const pulled = await pullPackage(client, ref('bp/app:v1'));
    expect(pulled.digest).toBe(digest);
    expect(pulled.files).toEqual(new Map([...content().files].sort(([a], [b]) => (a < b ? -1 : 1))));
    expect(pulled.modes).toEqual(content().modes);
    expect((await client.headManifest(ref('bp/app:v1')))?.digest).toBe(digest);
  });

  it('pins by digest: the tag moves, the digest still gives the old content', async () => {
    const first = await pushPackage(client, ref('bp/pin:stable'), content());
    const next = content();
    next.files.set('Kptfile', Buffer.from('kind: Kptfile\n# v2\n'));
    const second = await pushPackage(client, ref('bp/pin:stable'), next);
    expect(second).not.toBe(first);
    expect((await client.headManifest(ref('bp/pin:stable')))?.digest).toBe(second);
    const pinned = await pullPackage(client, ref(`bp/pin@${first}`));
    expect(pinned.files.get('Kptfile')).toEqual(content().files.get('Kptfile'));
    expect(await client.headManifest(ref(`bp/pin@sha256:${'0'.repeat(64)}`))).toBeUndefined();
  });

  it('paginates tags', async () => {
    const tags = Array.from({ length: 5 }, (_, i) => `t${i}`);
    for (const tag of tags) await pushPackage(client, ref(`bp/many:${tag}`), content());
    // Pages of 2: the registry links the next page (Link: <…>; rel="next").
    const paging = new OciClient({
      ca: registry.ca!,
      credentials: { username: USER, password: PASSWORD },
      tagPageSize: 2,
    });
    expect((await paging.listTags(ref('bp/many'))).sort()).toEqual(tags);
  });

  it('a wrong password: a clear error, without the password', async () => {
    const wrong = new OciClient({ ca: registry.ca!, credentials: { username: USER, password: 'not-the-Pa55' } });
    const error = await wrong.listTags(ref('bp/app')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OciAuthError);
    expect((error as Error).message).toMatch(/refused the credentials of user "blueprints"/);
    expect((error as Error).message).not.toContain('not-the-Pa55');
    const none = await new OciClient({ ca: registry.ca! }).listTags(ref('bp/app')).catch((e: unknown) => e);
    expect((none as Error).message).toMatch(/requires credentials/);
  });

  it('TLS: the custom CA is needed', async () => {
    const untrusting = new OciClient({ credentials: { username: USER, password: PASSWORD } });
    const error = await untrusting.listTags(ref('bp/app')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OciError);
    expect((error as Error).message).toMatch(/not reachable: .*(certificate|self.signed)/i);
  });

  it('refuses a layer larger than the limit', async () => {
    const big = content();
    big.files.set('big.bin', randomBytes(200_000));
    await pushPackage(client, ref('bp/big:v1'), big);
    const small = new OciClient({
      ca: registry.ca!,
      credentials: { username: USER, password: PASSWORD },
      maxBlobBytes: 50_000,
    });
    await expect(pullPackage(small, ref('bp/big:v1'))).rejects.toThrow(OciLimitError);
    await expect(pullPackage(client, ref('bp/big:v1'), { maxBytes: 100_000 })).rejects.toThrow(
      /larger than the (package )?limit/,
    );
  });

  it('blobs: verified by digest, pushed once', async () => {
    const data = Buffer.from('hello blob');
    const d = await client.pushBlob(ref('bp/blobs'), data, 'application/octet-stream');
    expect(d.digest).toBe(sha256(data));
    expect(await client.blobExists(ref('bp/blobs'), d.digest)).toBe(true);
    expect(await client.getBlob(ref('bp/blobs'), d.digest, data.length)).toEqual(data);
  });
});
