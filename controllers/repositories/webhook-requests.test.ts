// The webhook request corpus (testdata/webhook-requests/, format in its README.md): each case's
// requests go over raw TCP to a real webhook server on loopback; the status, what the server read,
// when it closed the connection and how often it polled are checked against the case.
import { afterEach, describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createWebhookServer, type WebhookLimits } from './webhook.ts';

const CORPUS = join(import.meta.dirname, 'testdata', 'webhook-requests');
const SECRET = 'webhook-secret';
const REPO = 'git.example.com/org/blueprints';

interface Request {
  head: string;
  body?: string;
  bodyBytes?: number;
  chunked?: boolean;
  trickleMs?: number;
  expect: { status: number | 'none'; contains?: string; maxBytesRead?: number; closedWithinMs?: number };
}

interface Case {
  description: string;
  limits?: Partial<WebhookLimits>;
  flood?: number;
  flooded?: { maxOpen: number; dropped: number; closedWithinMs: number };
  requests: Request[];
  polls: number;
}

const cases = readdirSync(CORPUS)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => [f.replace(/\.yaml$/, ''), parse(readFileSync(join(CORPUS, f), 'utf8')) as Case] as const);

const servers: Server[] = [];
const clients: Socket[] = [];
afterEach(async () => {
  for (const socket of clients.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** When `promise` settled (its value), or Infinity after `ms`; the timer does not outlive the race. */
async function within(promise: Promise<number>, ms: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<number>((resolve) => (timer = setTimeout(() => resolve(Infinity), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function head(template: string, body: string): string {
  const hmac = createHmac('sha256', SECRET).update(body).digest('hex');
  return template
    .replaceAll('{{sign:github}}', `sha256=${hmac}`)
    .replaceAll('{{sign:gitea}}', hmac)
    .replaceAll('{{secret}}', SECRET)
    .replaceAll('{{length}}', String(Buffer.byteLength(body)))
    .replace(/\{\{repeat:(.):(\d+)\}\}/g, (_, ch: string, n: string) => ch.repeat(Number(n)));
}

/** One connection: what came back and when the server closed it. */
function open(port: number) {
  const socket = connect(port, '127.0.0.1');
  clients.push(socket);
  const started = performance.now();
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(performance.now() - started)));
  const connected = new Promise<void>((resolve) => socket.on('connect', () => resolve()));
  return { socket, closed, connected, received: () => received };
}

async function send(socket: Socket, closed: Promise<number>, data: Buffer, trickleMs?: number): Promise<void> {
  let gone = false;
  void closed.then(() => (gone = true));
  if (trickleMs) {
    for (let i = 0; i < data.length && !gone; i++) {
      socket.write(data.subarray(i, i + 1));
      await sleep(trickleMs);
    }
    return;
  }
  if (!gone && !socket.write(data)) await Promise.race([new Promise((r) => socket.once('drain', r)), closed]);
}

/** Streams `total` bytes of 'x' (as chunks when `chunked`) until done or the server closes. */
async function stream(socket: Socket, closed: Promise<number>, total: number, chunked: boolean): Promise<void> {
  const piece = Buffer.alloc(64 * 1024, 'x');
  let gone = false;
  void closed.then(() => (gone = true));
  for (let sent = 0; sent < total && !gone; sent += piece.length) {
    const data = chunked
      ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')])
      : piece;
    if (!socket.write(data)) await Promise.race([new Promise((r) => socket.once('drain', r)), closed]);
  }
}

describe('webhook request corpus', () => {
  it('has cases', () => expect(cases.length).toBeGreaterThan(0));

  it.each(cases)(
    '%s',
    async (_, spec) => {
      const polled: string[] = [];
      const server = createWebhookServer({
        secret: SECRET,
        repositoriesFor: (url) => (url === REPO ? ['blueprints'] : []),
        poll: (repo) => polled.push(repo),
        ...(spec.limits ? { limits: spec.limits } : {}),
      });
      servers.push(server);
      const sockets: Socket[] = [];
      server.on('connection', (s: Socket) => sockets.push(s));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const bytesRead = () => sockets.reduce((sum, s) => sum + s.bytesRead, 0);

      if (spec.flood) {
        // In waves of 100, so that the listen backlog does not hide connections from the server.
        let dropped = 0;
        let maxOpen = 0;
        server.on('drop', () => dropped++);
        const watch = setInterval(() => server.getConnections((_, n) => (maxOpen = Math.max(maxOpen, n))), 5);
        const started = performance.now();
        const flood: ReturnType<typeof open>[] = [];
        while (flood.length < spec.flood) {
          const wave = Array.from({ length: Math.min(100, spec.flood - flood.length) }, () => open(port));
          flood.push(...wave);
          await Promise.all(wave.map((c) => Promise.race([c.connected, c.closed])));
        }
        const allClosed = Promise.all(flood.map((c) => c.closed)).then(() => performance.now() - started);
        const closedAfterMs = await within(allClosed, spec.flooded!.closedWithinMs);
        clearInterval(watch);
        expect(maxOpen).toBeLessThanOrEqual(spec.flooded!.maxOpen);
        expect(dropped).toBeGreaterThanOrEqual(spec.flooded!.dropped);
        expect(closedAfterMs).toBeLessThan(spec.flooded!.closedWithinMs);
      }

      for (const [i, request] of spec.requests.entries()) {
        const before = bytesRead();
        const client = open(port);
        await client.connected;
        const body = request.body ?? '';
        await send(client.socket, client.closed, Buffer.from(head(request.head, body), 'latin1'), request.trickleMs);
        if (request.body !== undefined) await send(client.socket, client.closed, Buffer.from(body), request.trickleMs);
        if (request.bodyBytes) await stream(client.socket, client.closed, request.bodyBytes, request.chunked ?? false);
        const closedAfterMs = await within(client.closed, 10_000);
        const response = client.received();
        const status = /^HTTP\/1\.1 (\d{3}) /.exec(response)?.[1];
        const want = request.expect;
        const at = `request ${i}`;
        expect({ at, status: status ? Number(status) : 'none' }).toEqual({ at, status: want.status });
        if (want.contains) expect(response).toContain(want.contains);
        if (want.maxBytesRead !== undefined) expect(bytesRead() - before).toBeLessThanOrEqual(want.maxBytesRead);
        if (want.closedWithinMs !== undefined) expect(closedAfterMs).toBeLessThan(want.closedWithinMs);
      }
      expect(polled).toHaveLength(spec.polls);
    },
    30_000,
  );
});
