// The client against a scripted registry on loopback (plain HTTP): the bearer challenge, tag pages,
// limits, digests, an index, redirects. The real registry (TLS, basic auth) is in registry.test.ts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MEDIA_TYPES, OciAuthError, OciClient, OciError, OciLimitError, OciNotFoundError, sha256 } from './client.ts';
import { parseReference } from './reference.ts';

const PASSWORD = 's3cret-pa55';
const TOKEN = 'tok-123';
type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

let server: Server;
let host: string;
const seen: Array<{ method: string; path: string; authorization?: string }> = [];
const routes = new Map<string, Handler>();

const blob = Buffer.from('layer content');
const manifestOf = (layers: Array<{ digest: string; size: number }>) =>
  Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(Buffer.from('{}')), size: 2 },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l })),
    }),
  );
const manifest = manifestOf([{ digest: sha256(blob), size: blob.length }]);

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push({
      method: req.method ?? '',
      path: url.pathname + url.search,
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
    if (url.pathname === '/token') {
      const ok = req.headers.authorization === `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`;
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(ok ? JSON.stringify({ token: TOKEN }) : '{}');
      return;
    }
    if (url.pathname.startsWith('/v2/open/')) {
      // no auth at all
    } else if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401, {
        'www-authenticate': `Bearer realm="http://${host}/token",service="fake",scope="repository:bp/app:pull"`,
        'content-type': 'application/json',
      });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    const route = [...routes].find(([path]) => url.pathname === path);
    if (route) return route[1](req, res, url);
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  routes.set('/v2/bp/app/tags/list', (_req, res, url) => {
    const last = url.searchParams.get('last');
    const page = last ? { tags: ['v3'] } : { tags: ['v1', 'v2'] };
    res.writeHead(200, {
      'content-type': 'application/json',
      ...(last ? {} : { link: '</v2/bp/app/tags/list?n=2&last=v2>; rel="next"' }),
    });
    res.end(JSON.stringify({ name: 'bp/app', ...page }));
  });
  routes.set('/v2/bp/app/manifests/v1', (req, res) => {
    res.writeHead(200, {
      'content-type': MEDIA_TYPES.ociManifest,
      'docker-content-digest': sha256(manifest),
      'content-length': String(manifest.length),
    });
    res.end(req.method === 'HEAD' ? undefined : manifest);
  });
  routes.set('/v2/bp/app/manifests/index', (_req, res) => {
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: [
        {
          mediaType: MEDIA_TYPES.ociManifest,
          digest: sha256(manifest),
          size: manifest.length,
          platform: { os: 'linux', architecture: 'amd64' },
        },
        {
          mediaType: MEDIA_TYPES.ociManifest,
          digest: `sha256:${'b'.repeat(64)}`,
          size: 1,
          platform: { os: 'windows' },
        },
      ],
    });
    res.writeHead(200, { 'content-type': MEDIA_TYPES.ociIndex });
    res.end(body);
  });
  routes.set('/v2/bp/app/manifests/index2', (_req, res) => {
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: ['c', 'd'].map((c) => ({
        mediaType: MEDIA_TYPES.ociManifest,
        digest: `sha256:${c.repeat(64)}`,
        size: 1,
        platform: { os: 'linux' },
      })),
    });
    res.writeHead(200, { 'content-type': MEDIA_TYPES.ociIndex });
    res.end(body);
  });
  routes.set(`/v2/bp/app/manifests/${sha256(manifest)}`, (_req, res) => {
    res.writeHead(200, { 'content-type': MEDIA_TYPES.ociManifest });
    res.end(manifest);
  });
  routes.set('/v2/bp/app/manifests/huge', (_req, res) => {
    res.writeHead(200, { 'content-type': MEDIA_TYPES.ociManifest });
    res.write(Buffer.alloc(3000, 0x20));
    res.end(manifest);
  });
  routes.set('/v2/bp/app/manifests/schema1', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' });
    res.end(
      JSON.stringify({ schemaVersion: 1, mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws' }),
    );
  });
  routes.set(`/v2/bp/app/blobs/${sha256(blob)}`, (_req, res) => {
    // a redirect to another "host" (another name for the same server): no Authorization there
    res.writeHead(307, { location: `http://localhost:${host.split(':')[1]}/v2/open/blob` });
    res.end();
  });
  routes.set('/v2/open/blob', (_req, res) => {
    res.writeHead(200);
    res.end(blob);
  });
  routes.set(`/v2/bp/app/blobs/${sha256(Buffer.from('other'))}`, (_req, res) => {
    res.writeHead(200);
    res.end(Buffer.from('not the content'));
  });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const client = (extra: Partial<ConstructorParameters<typeof OciClient>[0]> = {}) =>
  new OciClient({ plainHttp: true, credentials: { username: 'alice', password: PASSWORD }, ...extra });
const ref = (s: string) => parseReference(`${host}/${s}`);

describe('OciClient (scripted registry)', () => {
  it('answers a bearer challenge with basic credentials to the realm, once per scope', async () => {
    const c = client();
    const start = seen.length;
    expect(await c.listTags(ref('bp/app'))).toEqual(['v1', 'v2', 'v3']);
    const mine = seen.slice(start);
    const tokenRequests = mine.filter((r) => r.path.startsWith('/token'));
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]!.path).toContain('service=fake');
    expect(tokenRequests[0]!.path).toContain('scope=repository%3Abp%2Fapp%3Apull');
    expect(
      mine.filter((r) => r.path.startsWith('/v2/bp/app/tags/list') && r.authorization === `Bearer ${TOKEN}`),
    ).toHaveLength(2);
  });

  it('wrong password: a clear error naming the user, never the password', async () => {
    const c = client({ credentials: { username: 'alice', password: 'wrong-pw-xyz' } });
    const error = await c.listTags(ref('bp/app')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OciAuthError);
    expect(String(error)).toMatch(/refused the credentials of user "alice"/);
    expect(String(error)).not.toContain('wrong-pw-xyz');
  });

  it('no credentials: says that some are required', async () => {
    const error = await new OciClient({ plainHttp: true }).listTags(ref('bp/app')).catch((e: unknown) => e);
    expect(String(error)).toMatch(/requires credentials/);
  });

  it('reads a manifest, its digest by HEAD, and a missing one as not found', async () => {
    const c = client();
    const got = await c.getManifest(ref('bp/app:v1'));
    expect(got.digest).toBe(sha256(manifest));
    expect(got.manifest.layers[0]!.digest).toBe(sha256(blob));
    expect(await c.headManifest(ref('bp/app:v1'))).toMatchObject({
      digest: sha256(manifest),
      mediaType: MEDIA_TYPES.ociManifest,
    });
    expect(await c.headManifest(ref('bp/app:nope'))).toBeUndefined();
    await expect(c.getManifest(ref('bp/app:nope'))).rejects.toThrow(OciNotFoundError);
    await expect(c.getManifest(ref('bp/app:nope'))).rejects.toThrow(/MANIFEST_UNKNOWN/);
  });

  it('verifies a manifest asked by digest', async () => {
    const c = client();
    await expect(c.getManifest(ref(`bp/app@${sha256(manifest)}`))).resolves.toMatchObject({ digest: sha256(manifest) });
  });

  it('follows an index with one linux manifest, refuses an ambiguous one', async () => {
    const c = client();
    expect((await c.getManifest(ref('bp/app:index'))).digest).toBe(sha256(manifest));
    await expect(c.getManifest(ref('bp/app:index2'))).rejects.toThrow(/an index of 2 manifests; name one by digest/);
  });

  it('refuses schema 1 manifests', async () => {
    await expect(client().getManifest(ref('bp/app:schema1'))).rejects.toThrow(/unsupported manifest media type/);
  });

  it('enforces the manifest size limit while reading', async () => {
    await expect(client({ maxManifestBytes: 2048 }).getManifest(ref('bp/app:huge'))).rejects.toThrow(OciLimitError);
  });

  it('follows a blob redirect without sending the Authorization to the other host, and verifies it', async () => {
    const c = client();
    const start = seen.length;
    expect(await c.getBlob(ref('bp/app'), sha256(blob), blob.length)).toEqual(blob);
    const redirected = seen.slice(start).find((r) => r.path === '/v2/open/blob');
    expect(redirected).toBeDefined();
    expect(redirected!.authorization).toBeUndefined();
    await expect(c.getBlob(ref('bp/app'), sha256(Buffer.from('other')))).rejects.toThrow(/the content's digest is/);
    await expect(c.getBlob(ref('bp/app'), sha256(blob), blob.length + 1)).rejects.toThrow(OciError);
  });

  it('enforces the blob limit from the manifest size and while reading', async () => {
    const c = client({ maxBlobBytes: 4 });
    await expect(c.getBlob(ref('bp/app'), sha256(blob), blob.length)).rejects.toThrow(/more than the limit of 4/);
    await expect(c.getBlob(ref('bp/app'), sha256(blob))).rejects.toThrow(OciLimitError);
  });

  it('an unreachable registry names the host', async () => {
    const c = new OciClient({ plainHttp: true, timeoutMs: 2000 });
    await expect(c.listTags(parseReference('127.0.0.1:1/x'))).rejects.toThrow(/127\.0\.0\.1:1 is not reachable/);
  });
});
