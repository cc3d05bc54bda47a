import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import type { ErrorCallback, KubernetesObject, ObjectCallback } from '@kubernetes/client-node';
import { describeError, RestartableInformer } from './informer.ts';
import type { UnderlyingInformer } from './informer.ts';

/** Stands in for client-node's ListWatch: each start() runs the next scripted outcome. */
class ScriptedInformer implements UnderlyingInformer<KubernetesObject> {
  readonly callbacks = new Map<string, ((arg?: unknown) => void)[]>();
  starts = 0;
  stops = 0;
  readonly outcomes: ('ok' | 'error' | 'throw')[];
  constructor(outcomes: ('ok' | 'error' | 'throw')[]) {
    this.outcomes = outcomes;
  }
  on(verb: string, cb: ObjectCallback<KubernetesObject> | ErrorCallback): void {
    const list = this.callbacks.get(verb) ?? [];
    list.push(cb as (arg?: unknown) => void);
    this.callbacks.set(verb, list);
  }
  off(): void {}
  emit(verb: string, arg?: unknown): void {
    for (const cb of this.callbacks.get(verb) ?? []) cb(arg);
  }
  async start(): Promise<void> {
    this.emit('connect');
    const outcome = this.outcomes[this.starts++] ?? 'ok';
    if (outcome === 'throw') throw new Error('boom');
    if (outcome === 'error')
      this.emit('error', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
  }
  async stop(): Promise<void> {
    this.stops++;
  }
  get(): KubernetesObject | undefined {
    return undefined;
  }
  list(): KubernetesObject[] {
    return [];
  }
}

const backoff = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 };

function make(outcomes: ('ok' | 'error' | 'throw')[], extra: { onError?: (e: unknown, ms: number) => void } = {}) {
  const fake = new ScriptedInformer(outcomes);
  const informer = new RestartableInformer<KubernetesObject>({
    kubeConfig: new KubeConfig(),
    path: '/unused',
    list: () => Promise.reject(new Error('unused')),
    backoff,
    create: () => fake,
    ...extra,
  });
  return { fake, informer };
}

describe('RestartableInformer', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('is synced and healthy after a successful start', async () => {
    const { informer } = make(['ok']);
    expect(informer.hasSynced()).toBe(false);
    await informer.start();
    expect(informer.hasSynced()).toBe(true);
    expect(informer.health()).toMatchObject({ running: true, synced: true, watching: true, consecutiveFailures: 0 });
    await informer.stop();
  });

  it('restarts after failures with growing delays, then recovers', async () => {
    jest.useFakeTimers();
    const delays: number[] = [];
    const { fake, informer } = make(['error', 'throw', 'error', 'ok'], { onError: (_e, ms) => delays.push(ms) });
    await informer.start();
    expect(informer.health()).toMatchObject({ synced: false, watching: false, consecutiveFailures: 1 });
    expect(informer.health().lastError).toContain('ECONNREFUSED');
    await jest.advanceTimersByTimeAsync(100);
    expect(fake.starts).toBe(2);
    await jest.advanceTimersByTimeAsync(199);
    expect(fake.starts).toBe(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(fake.starts).toBe(3);
    await jest.advanceTimersByTimeAsync(400);
    expect(fake.starts).toBe(4);
    expect(delays).toEqual([100, 200, 400]);
    expect(informer.health()).toMatchObject({
      synced: true,
      watching: true,
      consecutiveFailures: 0,
      restarts: 3,
      connects: 4,
    });
    await informer.stop();
  });

  it('restarts when a running watch fails later, and not after stop()', async () => {
    jest.useFakeTimers();
    const { fake, informer } = make(['ok', 'ok']);
    await informer.start();
    fake.emit('error', new Error('stream reset'));
    expect(informer.health().watching).toBe(false);
    await jest.advanceTimersByTimeAsync(100);
    expect(fake.starts).toBe(2);
    expect(informer.health().watching).toBe(true);
    fake.emit('error', new Error('again'));
    await informer.stop();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(fake.starts).toBe(2);
    expect(informer.health().running).toBe(false);
  });

  it('isolates throwing handlers from the stream and from each other', async () => {
    const handlerErrors: unknown[] = [];
    const fake = new ScriptedInformer(['ok']);
    const informer = new RestartableInformer<KubernetesObject>({
      kubeConfig: new KubeConfig(),
      path: '/unused',
      list: () => Promise.reject(new Error('unused')),
      create: () => fake,
      onHandlerError: (err) => handlerErrors.push(err),
    });
    const seen: string[] = [];
    informer.on('add', () => {
      throw new Error('bad handler');
    });
    informer.on('add', (obj) => seen.push(obj.metadata?.name ?? ''));
    await informer.start();
    expect(() => fake.emit('add', { metadata: { name: 'a' } })).not.toThrow();
    expect(seen).toEqual(['a']);
    expect(handlerErrors).toHaveLength(1);
    await informer.stop();
  });

  it('waitForSync resolves on the first successful start and times out otherwise', async () => {
    jest.useFakeTimers();
    const { informer } = make(['error', 'ok']);
    const synced = informer.waitForSync(5000);
    await informer.start();
    await jest.advanceTimersByTimeAsync(100);
    await expect(synced).resolves.toBeUndefined();

    const never = make(['error', 'error', 'error', 'error', 'error', 'error']).informer;
    await never.start();
    const waiting = never.waitForSync(250);
    const assertion = expect(waiting).rejects.toThrow(/not synced after 250 ms: ECONNREFUSED/);
    await jest.advanceTimersByTimeAsync(250);
    await assertion;
    await never.stop();
    await informer.stop();
  });

  it('describes API errors by code and Status message, other errors by code and message', () => {
    const body = JSON.stringify({ kind: 'Status', message: 'storage is (re)initializing', code: 429 });
    expect(describeError(new ApiException(429, 'HTTP-Code: 429\nHeaders: {...}', body, {}))).toBe(
      '429 storage is (re)initializing',
    );
    const refused = Object.assign(new Error('fetch failed'), {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }),
    });
    expect(describeError(refused)).toBe('fetch failed: connect ECONNREFUSED 127.0.0.1:6443');
    expect(describeError(Object.assign(new Error('Gone'), { statusCode: 410 }))).toBe('410 Gone');
  });
});
