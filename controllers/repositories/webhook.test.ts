// The webhook server against clients that misbehave, over real HTTP on loopback: slow headers and
// slow bodies are cut by the timeouts, a body over the limit is not read on, connections are capped,
// and a replayed delivery id is answered without a second poll.
import { afterEach, describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import type { Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { createWebhookServer, type WebhookLimits } from './webhook.ts';

const SECRET = 'webhook-secret';
const REPO = 'git.example.com/org/blueprints';
const PUSH = JSON.stringify({ repository: { clone_url: `https://${REPO}.git` } });
const sign = (body: string) => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;

interface Running {
  server: Server;
  port: number;
  polled: string[];
  /** Bytes the server read from all its connections so far. */
  bytesRead(): number;
}

const running: Running[] = [];
afterEach(async () => {
  for (const { server } of running.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function start(limits: Partial<WebhookLimits> = {}): Promise<Running> {
  const polled: string[] = [];
  const server = createWebhookServer({
    secret: SECRET,
    repositoriesFor: (url) => (url === REPO ? ['blueprints'] : []),
    poll: (repo) => polled.push(repo),
    limits,
  });
  const sockets: Socket[] = [];
  server.on('connection', (socket: Socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const result = { server, port, polled, bytesRead: () => sockets.reduce((sum, s) => sum + s.bytesRead, 0) };
  running.push(result);
  return result;
}

/** A raw client: what it received, and when the server closed the connection. */
function rawClient(port: number) {
  const socket = connect(port, '127.0.0.1');
  const opened = performance.now();
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString()));
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(performance.now() - opened)));
  const connected = new Promise<void>((resolve) => socket.on('connect', () => resolve()));
  return { socket, closed, connected, received: () => received };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`'s value, or `timedOut` after `ms` (the timer does not outlive the race). */
async function within<T>(promise: Promise<T>, ms: number, timedOut: string): Promise<T | string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(timedOut), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Writes `text` one byte at a time every `everyMs` until the socket closes; returns how many were sent. */
async function trickle(socket: Socket, text: string, everyMs: number): Promise<number> {
  let sent = 0;
  for (const ch of text) {
    if (socket.destroyed || !socket.writable) break;
    socket.write(ch);
    sent++;
    await sleep(everyMs);
  }
  return sent;
}

describe('webhook server: timeouts', () => {
  it('cuts a client that sends its headers one byte at a time (slowloris) at the headers timeout', async () => {
    const { port } = await start({ headersTimeoutMs: 500, requestTimeoutMs: 5000 });
    const client = rawClient(port);
    const headers = `POST / HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(200)}\r\n\r\n`;
    const sent = trickle(client.socket, headers, 50);
    const closedAfterMs = await client.closed;
    expect(await sent).toBeLessThan(headers.length);
    expect(closedAfterMs).toBeGreaterThanOrEqual(450);
    expect(closedAfterMs).toBeLessThan(2500);
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('cuts a connection that sends nothing at the headers timeout', async () => {
    const { port } = await start({ headersTimeoutMs: 500, requestTimeoutMs: 5000 });
    const client = rawClient(port);
    await client.connected;
    const closedAfterMs = await client.closed;
    expect(closedAfterMs).toBeLessThan(2500);
  });

  it('cuts a body sent one byte at a time at the request timeout', async () => {
    const { port, polled } = await start({ headersTimeoutMs: 500, requestTimeoutMs: 1000 });
    const client = rawClient(port);
    client.socket.write(
      `POST / HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: ${sign(PUSH)}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${PUSH.length}\r\n\r\n`,
    );
    const sent = trickle(client.socket, PUSH, 50);
    const closedAfterMs = await client.closed;
    expect(await sent).toBeLessThan(PUSH.length);
    expect(closedAfterMs).toBeGreaterThanOrEqual(950);
    expect(closedAfterMs).toBeLessThan(3000);
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(polled).toEqual([]);
  });
});

describe('webhook server: body limit', () => {
  /** Sends a request with a body of `total` bytes as fast as the server takes it; what came back. */
  async function sendLarge(port: number, total: number, contentLength: boolean) {
    const client = rawClient(port);
    const head = contentLength ? `Content-Length: ${total}\r\n` : 'Transfer-Encoding: chunked\r\n';
    client.socket.write(`POST / HTTP/1.1\r\nHost: x\r\nX-Hub-Signature-256: sha256=00\r\n${head}\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let written = 0;
    let open = true;
    client.closed.then(() => (open = false));
    while (open && written < total) {
      const piece = contentLength
        ? chunk
        : Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
      const flushed = client.socket.write(piece);
      written += chunk.length;
      if (!flushed) await Promise.race([new Promise((resolve) => client.socket.once('drain', resolve)), client.closed]);
    }
    const closedAfterMs = await client.closed;
    return { written, closedAfterMs, response: client.received() };
  }

  it.each([
    ['a Content-Length over the limit', true],
    ['a chunked body that grows over the limit', false],
  ])('%s: 413, and the server stops reading (measured in bytes it received)', async (_, contentLength) => {
    const limit = 64 * 1024;
    const { port, bytesRead } = await start({ maxBodyBytes: limit });
    const total = 500 * 1024 * 1024;
    const { response } = await sendLarge(port, total, contentLength);
    expect(response).toMatch(/^HTTP\/1\.1 413 /);
    expect(response).toContain('body larger than 65536 bytes');
    // Before: all 500 MB were read before the 413. Now: the limit plus what was in flight.
    expect(bytesRead()).toBeLessThan(limit + 1024 * 1024);
  });

  it('a body within the limit is still read and answered', async () => {
    const { port, polled } = await start({ maxBodyBytes: 64 * 1024 });
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      body: PUSH,
      headers: { 'x-github-event': 'push', 'x-hub-signature-256': sign(PUSH) },
    });
    expect(res.status).toBe(202);
    expect(polled).toEqual(['blueprints']);
  });
});

describe('webhook server: connection cap', () => {
  it('closes connections over the cap as they arrive, and serves again once one is gone', async () => {
    const { port } = await start({ maxConnections: 5, headersTimeoutMs: 10_000 });
    const idle = Array.from({ length: 5 }, () => rawClient(port));
    await Promise.all(idle.map((c) => c.connected));
    await sleep(50);
    const extra = rawClient(port);
    expect(await within(extra.closed, 2000, 'still open')).not.toBe('still open');
    expect(extra.received()).toBe('');
    for (const client of idle) expect(client.socket.destroyed).toBe(false);

    idle[0]!.socket.destroy();
    await idle[0]!.closed;
    await sleep(50);
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      body: '{}',
      headers: { 'x-github-event': 'ping', 'x-hub-signature-256': sign('{}'), connection: 'close' },
    });
    expect(res.status).toBe(200);
    for (const client of idle) client.socket.destroy();
  });
});

describe('webhook server: replayed deliveries', () => {
  const post = (port: number, headers: Record<string, string>, body = PUSH) =>
    fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body, headers });
  const github = (id: string) => ({
    'x-github-event': 'push',
    'x-hub-signature-256': sign(PUSH),
    'x-github-delivery': id,
  });

  it('answers a repeated delivery id without polling again (GitHub, Gitea, GitLab ids)', async () => {
    const { port, polled } = await start();
    expect((await post(port, github('d-1'))).status).toBe(202);
    const again = await post(port, github('d-1'));
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ duplicate: 'd-1' });
    expect(polled).toEqual(['blueprints']);
    expect((await post(port, github('d-2'))).status).toBe(202);
    expect(polled).toEqual(['blueprints', 'blueprints']);

    const gitea = {
      'x-gitea-event': 'push',
      'x-gitea-signature': sign(PUSH).slice('sha256='.length),
      'x-gitea-delivery': 'g-1',
    };
    const gitlab = { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': SECRET, 'x-gitlab-event-uuid': 'l-1' };
    for (const headers of [gitea, gitea, gitlab, gitlab]) await post(port, headers);
    expect(polled).toHaveLength(4);
    // Without an id there is nothing to compare: every delivery polls.
    await post(port, { 'x-github-event': 'push', 'x-hub-signature-256': sign(PUSH) });
    await post(port, { 'x-github-event': 'push', 'x-hub-signature-256': sign(PUSH) });
    expect(polled).toHaveLength(6);
  });

  it('remembers only verified deliveries, and a bounded number of them', async () => {
    const { port, polled } = await start({ deliveryIds: 2 });
    const forged = { ...github('d-1'), 'x-hub-signature-256': 'sha256=00' };
    expect((await post(port, forged)).status).toBe(401);
    expect((await post(port, github('d-1'))).status).toBe(202);
    for (const id of ['d-2', 'd-3']) await post(port, github(id));
    expect(polled).toHaveLength(3);
    // d-1 was the oldest of three with room for two: forgotten, so it polls again.
    expect((await post(port, github('d-1'))).status).toBe(202);
    expect((await post(port, github('d-3'))).status).toBe(200);
    expect(polled).toHaveLength(4);
  });
});
