// Counts every HTTP request the Kubernetes client makes (client-go's rest_client_requests_total).
// @kubernetes/client-node 2.x sends API calls through its generated client (which has middleware)
// but watches through a bare undici `fetch` (which has none); both go through undici, which
// publishes each request on diagnostics channels. One subscription sees them all; requests to
// other origins (anything else in the process speaking HTTP through undici) are ignored.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';

/** The part of an undici request the channels carry that we read. */
interface UndiciRequest {
  origin?: string | URL;
  method?: string;
}

export type RequestListener = (code: string, method: string, host: string) => void;

/**
 * Calls `listener` once per request to `server` (the kubeconfig cluster URL): with the status code
 * when the response headers arrive, or `<error>` (client-go's label) when none do. Returns the
 * function that stops listening.
 */
export function observeKubeRequests(server: string, listener: RequestListener): () => void {
  const target = new URL(server);
  const counted = new WeakSet<object>();
  const ours = (request: UndiciRequest | undefined): request is UndiciRequest => {
    if (!request?.origin) return false;
    try {
      return new URL(String(request.origin)).origin === target.origin;
    } catch {
      return false;
    }
  };
  const report = (request: UndiciRequest, code: string) => {
    if (counted.has(request)) return;
    counted.add(request);
    listener(code, (request.method ?? 'GET').toUpperCase(), target.host);
  };
  const onHeaders = (message: unknown) => {
    const { request, response } = message as { request?: UndiciRequest; response?: { statusCode?: number } };
    if (ours(request)) report(request, String(response?.statusCode ?? '<error>'));
  };
  const onError = (message: unknown) => {
    const { request } = message as { request?: UndiciRequest };
    // A watch that is cut after its headers was counted with its status already.
    if (ours(request)) report(request, '<error>');
  };
  subscribe('undici:request:headers', onHeaders);
  subscribe('undici:request:error', onError);
  return () => {
    unsubscribe('undici:request:headers', onHeaders);
    unsubscribe('undici:request:error', onError);
  };
}
