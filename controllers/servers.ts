// The manager's HTTP servers: health probes and Prometheus metrics (the webhook receiver is in
// upstream/webhook.ts). Handlers only read; the manager decides what is healthy and ready.
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Metrics } from '../lib/metrics/metrics.ts';
import type { ProbeResult } from './health.ts';

export interface ListenAddress {
  host?: string;
  port: number;
}

/** `/healthz` (500 when unhealthy) and `/readyz` (503 when not ready). */
export function probeHandler(checks: { healthz(): ProbeResult; readyz(): ProbeResult }): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    const result = path === '/healthz' ? checks.healthz() : path === '/readyz' ? checks.readyz() : undefined;
    if (!result) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const failure = path === '/healthz' ? 500 : 503;
    res.writeHead(result.ok ? 200 : failure, { 'content-type': 'text/plain' }).end(result.body);
  };
}

/** `GET /metrics` in Prometheus's text format. */
export function metricsHandler(metrics: Metrics, onError: (error: unknown) => void): RequestListener {
  return (req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      (error: unknown) => {
        onError(error);
        res.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n');
      },
    );
  };
}

export function listen(address: ListenAddress, handler: RequestListener | Server): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = typeof handler === 'function' ? createServer(handler) : handler;
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
