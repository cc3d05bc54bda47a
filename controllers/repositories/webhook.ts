// The git push webhook: GitHub, Gitea/Forgejo and GitLab push payloads, each verified with the
// shared secret (HMAC-SHA256 signature, or GitLab's token), trigger an immediate poll of the
// repositories they name. Nothing in the payload is trusted beyond the repository URLs. The server
// is bounded: headers and whole requests must arrive in time, connections are capped, a body over
// the limit is not read on (413, connection closed), and a delivery id seen before polls nothing.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { normalizeRepoUrl } from './repo-url.ts';

export interface WebhookLimits {
  /** Largest body read; a larger one is answered 413 and its connection closed. */
  maxBodyBytes: number;
  /** Time a client has to send a request's headers. */
  headersTimeoutMs: number;
  /** Time a client has to send a whole request (headers and body). */
  requestTimeoutMs: number;
  /** Connections open at once; more are closed as they arrive. */
  maxConnections: number;
  /** Delivery ids remembered, so that a replayed delivery polls nothing. */
  deliveryIds: number;
}

export const DEFAULT_WEBHOOK_LIMITS: WebhookLimits = {
  maxBodyBytes: 1024 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxConnections: 256,
  deliveryIds: 10_000,
};

export interface WebhookOptions {
  secret: string;
  /** Repositories (watcher identities) a normalized URL names; empty when none is watched. */
  repositoriesFor(normalizedUrl: string): string[];
  poll(repo: string): void;
  limits?: Partial<WebhookLimits>;
}

const PUSH_EVENTS = new Set(['push', 'Push Hook', 'Tag Push Hook']);

type Verdict = { ok: true } | { ok: false; status: number; message: string };

function equalSecrets(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export function verifySignature(headers: IncomingMessage['headers'], body: Buffer, secret: string): Verdict {
  const hmac = () => createHmac('sha256', secret).update(body).digest('hex');
  const hub = headers['x-hub-signature-256'];
  if (typeof hub === 'string') {
    return equalSecrets(hub, `sha256=${hmac()}`) ? { ok: true } : { ok: false, status: 401, message: 'bad signature' };
  }
  const gitea = headers['x-gitea-signature'] ?? headers['x-forgejo-signature'];
  if (typeof gitea === 'string') {
    return equalSecrets(gitea, hmac()) ? { ok: true } : { ok: false, status: 401, message: 'bad signature' };
  }
  const gitlab = headers['x-gitlab-token'];
  if (typeof gitlab === 'string') {
    return equalSecrets(gitlab, secret) ? { ok: true } : { ok: false, status: 401, message: 'bad token' };
  }
  return {
    ok: false,
    status: 401,
    message: 'no signature: expected X-Hub-Signature-256, X-Gitea-Signature or X-Gitlab-Token',
  };
}

function eventOf(headers: IncomingMessage['headers']): string | undefined {
  const value =
    headers['x-github-event'] ?? headers['x-gitea-event'] ?? headers['x-forgejo-event'] ?? headers['x-gitlab-event'];
  return typeof value === 'string' ? value : undefined;
}

/** Every repository URL a push payload carries (GitHub/Gitea `repository`, GitLab `project`/`repository`). */
export function payloadUrls(payload: unknown): string[] {
  const urls: string[] = [];
  const take = (obj: unknown, fields: string[]) => {
    if (typeof obj !== 'object' || obj === null) return;
    for (const field of fields) {
      const value = (obj as Record<string, unknown>)[field];
      if (typeof value === 'string' && value) urls.push(value);
    }
  };
  const p = payload as Record<string, unknown> | null;
  take(p?.repository, [
    'clone_url',
    'ssh_url',
    'html_url',
    'git_url',
    'git_http_url',
    'git_ssh_url',
    'url',
    'homepage',
  ]);
  take(p?.project, ['git_http_url', 'git_ssh_url', 'web_url']);
  return urls;
}

/** The id a git host gives each delivery (the same on a redelivery), cut to a bounded length. */
function deliveryOf(headers: IncomingMessage['headers']): string | undefined {
  const value =
    headers['x-github-delivery'] ??
    headers['x-gitea-delivery'] ??
    headers['x-forgejo-delivery'] ??
    headers['x-gitlab-event-uuid'];
  return typeof value === 'string' && value ? value.slice(0, 128) : undefined;
}

/** The most recent delivery ids, oldest forgotten first. */
class DeliveryLog {
  private readonly ids = new Set<string>();
  private readonly capacity: number;
  constructor(capacity: number) {
    this.capacity = capacity;
  }
  /** Records `id`; true when it was recorded before. */
  seen(id: string): boolean {
    if (this.ids.has(id)) return true;
    this.ids.add(id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value!);
    return false;
  }
}

function reply(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Answers and closes the connection without reading the rest of the request. */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, body: Record<string, unknown>): void {
  req.pause();
  res.once('finish', () => req.socket.destroy());
  res.setHeader('connection', 'close');
  reply(res, status, body);
}

export function createWebhookHandler(options: WebhookOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const limits = { ...DEFAULT_WEBHOOK_LIMITS, ...options.limits };
  const { maxBodyBytes } = limits;
  const deliveries = new DeliveryLog(limits.deliveryIds);
  return (req, res) => {
    if (req.method !== 'POST') return reply(res, 405, { error: 'use POST' });
    const tooLarge = () => refuse(req, res, 413, { error: `body larger than ${maxBodyBytes} bytes` });
    if (Number(req.headers['content-length']) > maxBodyBytes) return tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodyBytes) chunks.push(chunk);
      else if (!res.headersSent) tooLarge();
    });
    req.on('error', () => {
      if (!res.headersSent) reply(res, 400, { error: 'request aborted' });
    });
    req.on('end', () => {
      if (size > maxBodyBytes) return;
      const body = Buffer.concat(chunks);
      const verdict = verifySignature(req.headers, body, options.secret);
      if (!verdict.ok) return reply(res, verdict.status, { error: verdict.message });
      // Only a verified delivery is remembered: nobody without the secret can make us forget one.
      const delivery = deliveryOf(req.headers);
      if (delivery !== undefined && deliveries.seen(delivery)) return reply(res, 200, { duplicate: delivery });
      const event = eventOf(req.headers);
      if (event === 'ping') return reply(res, 200, { ok: 'pong' });
      if (event !== undefined && !PUSH_EVENTS.has(event)) return reply(res, 200, { ignored: event });
      let payload: unknown;
      try {
        payload = JSON.parse(body.toString('utf8'));
      } catch {
        return reply(res, 400, { error: 'body is not JSON' });
      }
      const repositories = [
        ...new Set(payloadUrls(payload).flatMap((u) => options.repositoriesFor(normalizeRepoUrl(u)))),
      ];
      for (const repo of repositories) options.poll(repo);
      reply(res, repositories.length ? 202 : 200, { repositories });
    });
  };
}

/** The webhook's HTTP server, with the timeouts and the connection cap of `options.limits`. */
export function createWebhookServer(options: WebhookOptions): Server {
  const limits = { ...DEFAULT_WEBHOOK_LIMITS, ...options.limits };
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // How often the timeouts above are checked (Node's default, 30 s, would let them run long).
      connectionsCheckingInterval: Math.max(10, Math.min(1000, limits.headersTimeoutMs / 4)),
    },
    createWebhookHandler(options),
  );
  server.maxConnections = limits.maxConnections;
  server.maxHeadersCount = 100;
  return server;
}
