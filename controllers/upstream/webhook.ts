// The git push webhook: GitHub, Gitea/Forgejo and GitLab push payloads, each verified with the
// shared secret (HMAC-SHA256 signature, or GitLab's token), trigger an immediate poll of the
// repositories they name. Nothing in the payload is trusted beyond the repository URLs.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { normalizeRepoUrl } from './repo-url.ts';

export interface WebhookOptions {
  secret: string;
  /** Repositories (watcher identities) a normalized URL names; empty when none is watched. */
  repositoriesFor(normalizedUrl: string): string[];
  poll(repo: string): void;
  maxBodyBytes?: number;
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

function reply(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export function createWebhookHandler(options: WebhookOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  return (req, res) => {
    if (req.method !== 'POST') return reply(res, 405, { error: 'use POST' });
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('error', () => reply(res, 400, { error: 'request aborted' }));
    req.on('end', () => {
      if (tooLarge) return reply(res, 413, { error: `body larger than ${maxBodyBytes} bytes` });
      const body = Buffer.concat(chunks);
      const verdict = verifySignature(req.headers, body, options.secret);
      if (!verdict.ok) return reply(res, verdict.status, { error: verdict.message });
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
