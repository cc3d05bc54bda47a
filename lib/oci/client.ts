// A small OCI distribution client (the registry HTTP API v2): tags (paginated), manifests (OCI
// image manifest, Docker v2 schema 2; an index with one choice), blobs verified by sha256, monolithic
// blob pushes (POST + PUT) and manifest pushes. Auth: anonymous, basic, and the bearer token
// challenge (`WWW-Authenticate: Bearer realm=…,service=…,scope=…`, basic credentials sent to the
// realm). TLS with an extra CA. Bodies are read with limits enforced while they stream. Node's
// http/https are used directly (no dependency): the `ca` option, redirects without the
// Authorization header to another host, and size limits are then plain code.
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { credentialSecrets } from '../git/credentials.ts';
import { redact } from '../git/exec.ts';
import { apiHost, isDigest, manifestReference, type ImageReference } from './reference.ts';

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

const MANIFEST_ACCEPT = Object.values(MEDIA_TYPES).join(', ');

export const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_BLOB_BYTES = 256 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_REDIRECTS = 5;
const MAX_TAG_PAGES = 1000;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string };
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface Manifest {
  /** sha256 of the manifest's bytes (verified against a requested digest). */
  digest: string;
  mediaType: string;
  manifest: ImageManifest;
  raw: Buffer;
}

export interface Credentials {
  username: string;
  password: string;
}

export interface OciClientOptions {
  credentials?: Credentials;
  /** Extra trusted CA certificates (PEM), besides the system's. */
  ca?: string | Buffer;
  /** Speak http, not https (tests, local registries). */
  plainHttp?: boolean;
  maxManifestBytes?: number;
  maxBlobBytes?: number;
  timeoutMs?: number;
  /** Tags asked per page (`n`); the registry may give fewer, and links the next page. */
  tagPageSize?: number;
}

/** A registry error: names the registry, the repository and what was asked; never a credential. */
export class OciError extends Error {
  override name = 'OciError';
  readonly status?: number;
  readonly code?: string;
  constructor(message: string, status?: number, code?: string) {
    super(message);
    if (status !== undefined) this.status = status;
    if (code !== undefined) this.code = code;
  }
}

export class OciNotFoundError extends OciError {
  override name = 'OciNotFoundError';
}

export class OciAuthError extends OciError {
  override name = 'OciAuthError';
}

export class OciLimitError extends OciError {
  override name = 'OciLimitError';
}

interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  url: URL;
  body: Buffer;
}

interface RequestSpec {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT';
  url: URL;
  headers?: Record<string, string>;
  body?: Buffer;
  /** The most the body may hold; larger: OciLimitError (with `what` in the message). */
  limit: number;
  what: string;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (or `Basic realm="…"`). */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } | undefined {
  const match = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/g;
  for (const m of match[2]!.matchAll(re))
    params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
  return { scheme: match[1]!.toLowerCase(), params };
}

/** The URL of the `rel="next"` link of a Link header, resolved against `base`. */
function nextLink(header: string | undefined, base: URL): URL | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const m = /<([^>]*)>\s*;\s*rel="?next"?/.exec(part);
    if (m) return new URL(m[1]!, base);
  }
  return undefined;
}

/** `registry/repository@digest`, else `registry/repository:tag`: the manifest a request names. */
function manifestLabel(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.digest ? '@' : ':'}${manifestReference(ref)}`;
}

/** The media type of a response's Content-Type (without parameters). */
function contentType(response: Response): string {
  return String(response.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim();
}

export function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export class OciClient {
  private readonly options: OciClientOptions;
  private readonly maxManifest: number;
  private readonly maxBlob: number;
  /** Bearer tokens by `registry scope`. */
  private readonly tokens = new Map<string, string>();
  /** Registries that answered a Basic challenge: credentials are sent upfront from then on. */
  private readonly basic = new Set<string>();

  constructor(options: OciClientOptions = {}) {
    this.options = options;
    this.maxManifest = options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
    this.maxBlob = options.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES;
  }

  private base(registry: string): URL {
    return new URL(`${this.options.plainHttp ? 'http' : 'https'}://${apiHost(registry)}/v2/`);
  }

  /** Removes the password (and its base64 and URL-encoded forms) from a text that came from outside. */
  private redact(text: string): string {
    const creds = this.options.credentials;
    if (!creds) return text;
    return redact(text, [...credentialSecrets({ kind: 'basic', ...creds }), encodeURIComponent(creds.password)]);
  }

  private basicHeader(): string | undefined {
    const creds = this.options.credentials;
    return creds ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` : undefined;
  }

  /** One HTTP exchange, following redirects (Authorization only kept on the same host). */
  private async exchange(spec: RequestSpec): Promise<Response> {
    let url = spec.url;
    let headers = { ...spec.headers };
    let method = spec.method;
    let body = spec.body;
    for (let hop = 0; ; hop++) {
      const response = await this.once(method, url, headers, body, spec.limit, spec.what);
      const location = response.headers.location;
      if (![301, 302, 303, 307, 308].includes(response.status) || !location || method === 'POST' || method === 'PUT') {
        return response;
      }
      if (hop >= MAX_REDIRECTS) throw new OciError(`${spec.what}: too many redirects`);
      const next = new URL(location, url);
      if (next.protocol !== 'https:' && next.protocol !== 'http:')
        throw new OciError(`${spec.what}: redirect to ${next.protocol}`);
      if (next.host !== url.host) {
        const { authorization: _dropped, ...rest } = headers;
        headers = rest;
      }
      if (response.status === 303) {
        method = 'GET';
        body = undefined;
      }
      url = next;
    }
  }

  private once(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: Buffer | undefined,
    limit: number,
    what: string,
  ): Promise<Response> {
    const timeout = this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Response>((resolve, reject) => {
      const req = send(
        url,
        {
          method,
          headers: {
            'user-agent': 'pvctl-oci',
            ...headers,
            ...(body ? { 'content-length': String(body.length) } : {}),
          },
          timeout,
          ...(url.protocol === 'https:' && this.options.ca ? { ca: this.options.ca } : {}),
        },
        (res: IncomingMessage) => {
          const status = res.statusCode ?? 0;
          // Error bodies are read (for the registry's error code) but never past 64 KiB.
          const max = status >= 200 && status < 300 ? limit : Math.min(limit, 64 * 1024);
          const declared = Number(res.headers['content-length']);
          if (method !== 'HEAD' && Number.isFinite(declared) && declared > max && status < 300) {
            res.destroy();
            reject(new OciLimitError(`${what}: ${declared} bytes, more than the limit of ${max}`));
            return;
          }
          const chunks: Buffer[] = [];
          let total = 0;
          res.on('data', (chunk: Buffer) => {
            total += chunk.length;
            if (total > max) {
              res.destroy();
              if (status < 300) reject(new OciLimitError(`${what}: more than the limit of ${max} bytes`));
              else resolve({ status, headers: res.headers, url, body: Buffer.concat(chunks) });
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => resolve({ status, headers: res.headers, url, body: Buffer.concat(chunks) }));
          res.on('error', (e) => reject(new OciError(`${what}: ${this.redact(e.message)}`)));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeout} ms`)));
      req.on('error', (e) => reject(new OciError(`${what}: ${url.host} is not reachable: ${this.redact(e.message)}`)));
      req.end(body);
    });
  }

  /** A bearer token for a challenge, from its realm (basic credentials when there are some). */
  private async token(registry: string, params: Record<string, string>, scope: string, what: string): Promise<string> {
    const realm = params.realm;
    if (!realm) throw new OciAuthError(`${what}: the registry's bearer challenge names no realm`);
    const url = new URL(realm);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.options.plainHttp)) {
      throw new OciAuthError(`${what}: the token realm ${url.origin} is not https`);
    }
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.append('scope', params.scope ?? scope);
    const basic = this.basicHeader();
    const response = await this.exchange({
      method: 'GET',
      url,
      headers: basic ? { authorization: basic } : {},
      limit: 1024 * 1024,
      what: `${what}: token from ${url.origin}`,
    });
    if (response.status === 401 || response.status === 403) {
      throw new OciAuthError(this.refused(registry, what, response.status), response.status);
    }
    if (response.status !== 200)
      throw new OciAuthError(`${what}: the token service ${url.origin} answered ${response.status}`, response.status);
    let parsed: { token?: unknown; access_token?: unknown };
    try {
      parsed = JSON.parse(response.body.toString('utf8')) as typeof parsed;
    } catch {
      throw new OciAuthError(`${what}: the token service ${url.origin} answered no JSON`);
    }
    const token = typeof parsed.token === 'string' ? parsed.token : parsed.access_token;
    if (typeof token !== 'string' || token === '')
      throw new OciAuthError(`${what}: the token service ${url.origin} gave no token`);
    return token;
  }

  private refused(registry: string, what: string, status: number): string {
    const user = this.options.credentials?.username;
    return user !== undefined
      ? `${what}: registry ${registry} refused the credentials of user ${JSON.stringify(user)} (HTTP ${status})`
      : `${what}: registry ${registry} requires credentials (HTTP ${status}); none were given`;
  }

  /** A request with auth: the cached token or basic header first, one challenge answered on a 401. */
  private async send(
    registry: string,
    repository: string,
    actions: 'pull' | 'pull,push',
    spec: RequestSpec,
  ): Promise<Response> {
    const scope = `repository:${repository}:${actions}`;
    const key = `${registry} ${scope}`;
    const auth = (): Record<string, string> => {
      const token = this.tokens.get(key);
      if (token) return { authorization: `Bearer ${token}` };
      const basic = this.basic.has(registry) ? this.basicHeader() : undefined;
      return basic ? { authorization: basic } : {};
    };
    const first = await this.exchange({ ...spec, headers: { ...spec.headers, ...auth() } });
    if (first.status !== 401) return first;
    const challenge = parseChallenge(String(first.headers['www-authenticate'] ?? ''));
    if (challenge?.scheme === 'bearer') {
      this.tokens.set(key, await this.token(registry, challenge.params, scope, spec.what));
    } else if (challenge?.scheme === 'basic' && this.options.credentials && !this.basic.has(registry)) {
      this.basic.add(registry);
    } else {
      throw new OciAuthError(this.refused(registry, spec.what, 401), 401);
    }
    const second = await this.exchange({ ...spec, headers: { ...spec.headers, ...auth() } });
    if (second.status === 401) throw new OciAuthError(this.refused(registry, spec.what, 401), 401);
    return second;
  }

  /** An error for a response that is not what was expected, with the registry's error code. */
  private failure(response: Response, what: string): OciError {
    let code: string | undefined;
    let detail = '';
    try {
      const parsed = JSON.parse(response.body.toString('utf8')) as {
        errors?: Array<{ code?: string; message?: string }>;
      };
      const first = parsed.errors?.[0];
      if (first?.code) {
        code = first.code;
        detail = `: ${first.code}${first.message ? ` (${this.redact(first.message).slice(0, 300)})` : ''}`;
      }
    } catch {
      // not a registry error body
    }
    const message = `${what}: HTTP ${response.status}${detail}`;
    if (response.status === 404) return new OciNotFoundError(message, 404, code);
    if (response.status === 403) {
      const user = this.options.credentials?.username;
      const who = user !== undefined ? ` to user ${JSON.stringify(user)}` : ' without credentials';
      return new OciAuthError(`${what}: access denied${who} (HTTP 403${detail})`, 403, code);
    }
    return new OciError(message, response.status, code);
  }

  private repoUrl(ref: Pick<ImageReference, 'registry' | 'repository'>, path: string): URL {
    return new URL(`${ref.repository}/${path}`, this.base(ref.registry));
  }

  /** Every tag of a repository, following `Link: <…>; rel="next"` pages. */
  async listTags(ref: Pick<ImageReference, 'registry' | 'repository'>): Promise<string[]> {
    const what = `listing the tags of ${ref.registry}/${ref.repository}`;
    const tags: string[] = [];
    let url: URL | undefined = this.repoUrl(ref, `tags/list?n=${this.options.tagPageSize ?? 1000}`);
    for (let page = 0; url; page++) {
      if (page >= MAX_TAG_PAGES) throw new OciLimitError(`${what}: more than ${MAX_TAG_PAGES} pages`);
      const response = await this.send(ref.registry, ref.repository, 'pull', {
        method: 'GET',
        url,
        headers: { accept: 'application/json' },
        limit: this.maxManifest,
        what,
      });
      if (response.status !== 200) throw this.failure(response, what);
      let parsed: { tags?: unknown };
      try {
        parsed = JSON.parse(response.body.toString('utf8')) as typeof parsed;
      } catch {
        throw new OciError(`${what}: the answer is not JSON`);
      }
      if (parsed.tags !== null && parsed.tags !== undefined) {
        if (!Array.isArray(parsed.tags) || parsed.tags.some((t) => typeof t !== 'string')) {
          throw new OciError(`${what}: "tags" is not a list of strings`);
        }
        tags.push(...(parsed.tags as string[]));
      }
      const next = nextLink(response.headers.link as string | undefined, response.url);
      if (next && next.origin !== response.url.origin) throw new OciError(`${what}: the next page is on another host`);
      url = next;
    }
    return tags;
  }

  /** The digest, media type and size of a manifest (HEAD); undefined when there is none. */
  async headManifest(ref: ImageReference): Promise<Descriptor | undefined> {
    const name = manifestReference(ref);
    const what = `looking up ${manifestLabel(ref)}`;
    const response = await this.send(ref.registry, ref.repository, 'pull', {
      method: 'HEAD',
      url: this.repoUrl(ref, `manifests/${name}`),
      headers: { accept: MANIFEST_ACCEPT },
      limit: 0,
      what,
    });
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw this.failure(response, what);
    const digest = String(response.headers['docker-content-digest'] ?? '');
    if (!isDigest(digest)) {
      // A registry that gives no digest on HEAD: the manifest itself tells.
      const manifest = await this.getManifest(ref);
      return { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.raw.length };
    }
    if (ref.digest && digest !== ref.digest) throw new OciError(`${what}: the registry answered digest ${digest}`);
    return {
      mediaType: contentType(response),
      digest,
      size: Number(response.headers['content-length'] ?? 0),
    };
  }

  /**
   * An image manifest (OCI or Docker v2 schema 2). An index (or manifest list) is followed when it
   * has one manifest, or exactly one for linux; otherwise refused.
   */
  async getManifest(ref: ImageReference, followIndex = true): Promise<Manifest> {
    const name = manifestReference(ref);
    const what = `reading the manifest of ${manifestLabel(ref)}`;
    const response = await this.send(ref.registry, ref.repository, 'pull', {
      method: 'GET',
      url: this.repoUrl(ref, `manifests/${name}`),
      headers: { accept: MANIFEST_ACCEPT },
      limit: this.maxManifest,
      what,
    });
    if (response.status !== 200) throw this.failure(response, what);
    const raw = response.body;
    const digest = sha256(raw);
    if (ref.digest && digest !== ref.digest) throw new OciError(`${what}: the content's digest is ${digest}`);
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new OciError(`${what}: the manifest is not JSON`);
    }
    const mediaType = typeof parsed.mediaType === 'string' ? parsed.mediaType : contentType(response);
    if (mediaType === MEDIA_TYPES.ociIndex || mediaType === MEDIA_TYPES.dockerManifestList) {
      if (!followIndex) throw new OciError(`${what}: an index inside an index is not followed`);
      const chosen = chooseFromIndex(parsed.manifests, what);
      return this.getManifest({ registry: ref.registry, repository: ref.repository, digest: chosen }, false);
    }
    if (mediaType !== MEDIA_TYPES.ociManifest && mediaType !== MEDIA_TYPES.dockerManifest) {
      throw new OciError(
        `${what}: unsupported manifest media type ${JSON.stringify(mediaType)} (OCI image manifest or Docker v2 schema 2 expected)`,
      );
    }
    return { digest, mediaType, manifest: checkManifest(parsed, what), raw };
  }

  /** A blob, verified against its digest (and its size, when given); at most `maxBlobBytes`. */
  async getBlob(ref: Pick<ImageReference, 'registry' | 'repository'>, digest: string, size?: number): Promise<Buffer> {
    const what = `reading blob ${digest} of ${ref.registry}/${ref.repository}`;
    if (!isDigest(digest)) throw new OciError(`${what}: only sha256 digests are supported`);
    if (size !== undefined && size > this.maxBlob) {
      throw new OciLimitError(`${what}: ${size} bytes, more than the limit of ${this.maxBlob}`);
    }
    const response = await this.send(ref.registry, ref.repository, 'pull', {
      method: 'GET',
      url: this.repoUrl(ref, `blobs/${digest}`),
      limit: size ?? this.maxBlob,
      what,
    });
    if (response.status !== 200) throw this.failure(response, what);
    if (size !== undefined && response.body.length !== size) {
      throw new OciError(`${what}: ${response.body.length} bytes, the manifest says ${size}`);
    }
    const actual = sha256(response.body);
    if (actual !== digest) throw new OciError(`${what}: the content's digest is ${actual}`);
    return response.body;
  }

  async blobExists(ref: Pick<ImageReference, 'registry' | 'repository'>, digest: string): Promise<boolean> {
    const what = `looking up blob ${digest} of ${ref.registry}/${ref.repository}`;
    const response = await this.send(ref.registry, ref.repository, 'pull,push', {
      method: 'HEAD',
      url: this.repoUrl(ref, `blobs/${digest}`),
      limit: 0,
      what,
    });
    if (response.status === 200) return true;
    if (response.status === 404) return false;
    throw this.failure(response, what);
  }

  /** Uploads a blob (POST, then one PUT with the content) unless the registry has it; its descriptor. */
  async pushBlob(
    ref: Pick<ImageReference, 'registry' | 'repository'>,
    data: Buffer,
    mediaType: string,
  ): Promise<Descriptor> {
    const digest = sha256(data);
    const descriptor = { mediaType, digest, size: data.length };
    if (await this.blobExists(ref, digest)) return descriptor;
    const what = `pushing blob ${digest} to ${ref.registry}/${ref.repository}`;
    const start = await this.send(ref.registry, ref.repository, 'pull,push', {
      method: 'POST',
      url: this.repoUrl(ref, 'blobs/uploads/'),
      limit: 64 * 1024,
      what,
    });
    if (start.status !== 202) throw this.failure(start, what);
    const location = start.headers.location;
    if (!location) throw new OciError(`${what}: the registry gave no upload location`);
    const upload = new URL(location, start.url);
    if (upload.origin !== start.url.origin) throw new OciError(`${what}: the upload location is on another host`);
    upload.searchParams.set('digest', digest);
    const done = await this.send(ref.registry, ref.repository, 'pull,push', {
      method: 'PUT',
      url: upload,
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
      limit: 64 * 1024,
      what,
    });
    if (done.status !== 201) throw this.failure(done, what);
    return descriptor;
  }

  /** Pushes a manifest under a tag (or its digest); its digest. */
  async pushManifest(
    ref: Pick<ImageReference, 'registry' | 'repository'>,
    tagOrDigest: string,
    raw: Buffer,
    mediaType: string,
  ): Promise<string> {
    const digest = sha256(raw);
    const what = `pushing the manifest ${ref.registry}/${ref.repository}:${tagOrDigest}`;
    if (raw.length > this.maxManifest)
      throw new OciLimitError(`${what}: ${raw.length} bytes, more than the limit of ${this.maxManifest}`);
    const response = await this.send(ref.registry, ref.repository, 'pull,push', {
      method: 'PUT',
      url: this.repoUrl(ref, `manifests/${tagOrDigest}`),
      headers: { 'content-type': mediaType },
      body: raw,
      limit: 64 * 1024,
      what,
    });
    if (response.status !== 201 && response.status !== 200) throw this.failure(response, what);
    const answered = response.headers['docker-content-digest'];
    if (answered && answered !== digest)
      throw new OciError(`${what}: the registry answered digest ${String(answered)}, not ${digest}`);
    return digest;
  }
}

function checkDescriptor(value: unknown, what: string): Descriptor {
  const d = value as Partial<Descriptor> | null;
  if (
    !d ||
    typeof d !== 'object' ||
    typeof d.mediaType !== 'string' ||
    typeof d.digest !== 'string' ||
    !isDigest(d.digest) ||
    typeof d.size !== 'number' ||
    !Number.isSafeInteger(d.size) ||
    d.size < 0
  ) {
    throw new OciError(`${what}: a descriptor is malformed (mediaType, sha256 digest and size required)`);
  }
  return d as Descriptor;
}

function checkManifest(parsed: Record<string, unknown>, what: string): ImageManifest {
  if (parsed.schemaVersion !== 2) throw new OciError(`${what}: schemaVersion ${String(parsed.schemaVersion)} is not 2`);
  if (!Array.isArray(parsed.layers)) throw new OciError(`${what}: the manifest has no layers`);
  return {
    ...(parsed as unknown as ImageManifest),
    config: checkDescriptor(parsed.config, what),
    layers: parsed.layers.map((l) => checkDescriptor(l, what)),
  };
}

function chooseFromIndex(manifests: unknown, what: string): string {
  if (!Array.isArray(manifests) || manifests.length === 0) throw new OciError(`${what}: an empty index`);
  const entries = manifests.map((m) => checkDescriptor(m, what));
  if (entries.length === 1) return entries[0]!.digest;
  const linux = entries.filter((e) => e.platform?.os === 'linux');
  if (linux.length === 1) return linux[0]!.digest;
  throw new OciError(
    `${what}: an index of ${entries.length} manifests; name one by digest (${entries.map((e) => e.digest).join(', ')})`,
  );
}
