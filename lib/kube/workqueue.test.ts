import { describe, expect, it } from '@jest/globals';
import { backoffDelay } from './backoff.ts';
import { parkWhile } from './worker-pool.ts';
import { ITEM_BACKOFF, runWorkers, WorkQueue } from './workqueue.ts';

const fast = { initialMs: 1, maxMs: 8, factor: 2, jitter: 0 };

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('per-item backoff', () => {
  it('doubles from 5 ms and stops at 1000 s', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, ITEM_BACKOFF))).toEqual([5, 10, 20, 40]);
    expect(backoffDelay(30, ITEM_BACKOFF)).toBe(1_000_000);
    expect(backoffDelay(10_000, ITEM_BACKOFF)).toBe(1_000_000);
  });
});

describe('WorkQueue', () => {
  it('keeps a key once while it waits', () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.length).toBe(2);
    expect([q.get(), q.get(), q.get()]).toEqual(['a', 'b', undefined]);
  });

  it('never hands out a key in progress; an add during processing comes back after done', () => {
    const q = new WorkQueue();
    q.add('a');
    expect(q.get()).toBe('a');
    q.add('a');
    expect(q.get()).toBeUndefined();
    q.done('a');
    expect(q.get()).toBe('a');
    q.done('a');
    expect(q.get()).toBeUndefined();
  });

  it('backs off per key and forgets on success', () => {
    const q = new WorkQueue();
    expect([q.addRateLimited('a'), q.addRateLimited('a'), q.addRateLimited('a')]).toEqual([5, 10, 20]);
    expect(q.addRateLimited('b')).toBe(5);
    q.forget('a');
    expect(q.failureCount('a')).toBe(0);
    expect(q.addRateLimited('a')).toBe(5);
    q.shutDown();
  });

  it('keeps the earliest of several delayed adds', async () => {
    const q = new WorkQueue();
    q.addAfter('a', 10_000);
    q.addAfter('a', 5);
    await until(() => q.length === 1, 'the early add');
    expect(q.get()).toBe('a');
    q.shutDown();
  });

  it('reports hooks for metrics', () => {
    const seen: string[] = [];
    const q = new WorkQueue({
      hooks: {
        added: (k) => seen.push(`add ${k}`),
        started: (k) => seen.push(`start ${k}`),
        finished: (k) => seen.push(`finish ${k}`),
      },
    });
    q.add('a');
    q.get();
    expect(q.unfinishedWork().longestSeconds).toBeGreaterThanOrEqual(0);
    q.done('a');
    expect(seen).toEqual(['add a', 'start a', 'finish a']);
  });

  it('drops everything on shutdown', () => {
    const q = new WorkQueue();
    q.add('a');
    q.shutDown();
    q.add('b');
    expect(q.get()).toBeUndefined();
  });
});

describe('runWorkers', () => {
  it('takes keys that were added while every worker was busy, without another add', async () => {
    const q = new WorkQueue();
    const seen: string[] = [];
    const workers = runWorkers(q, 2, async (key) => {
      seen.push(key);
    });
    for (const key of ['a', 'b', 'c']) q.add(key);
    await until(() => seen.length === 3, 'all three keys');
    expect(seen).toEqual(['a', 'b', 'c']);
    workers.stop();
    q.shutDown();
  });

  it('runs at most `concurrency` reconciles and never one key twice at once', async () => {
    const q = new WorkQueue();
    let running = 0;
    let maxRunning = 0;
    const runningKeys = new Set<string>();
    const done: string[] = [];
    const workers = runWorkers(q, 2, async (key) => {
      expect(runningKeys.has(key)).toBe(false);
      runningKeys.add(key);
      maxRunning = Math.max(maxRunning, ++running);
      await new Promise((r) => setTimeout(r, 3));
      running--;
      runningKeys.delete(key);
      done.push(key);
    });
    // 'a' is being processed when it is added again: it runs once more, after the first run.
    for (const key of ['a', 'b', 'c', 'd', 'a', 'e']) q.add(key);
    await until(() => done.length >= 6 && workers.active === 0, 'six reconciles');
    expect(maxRunning).toBe(2);
    expect([...done].sort()).toEqual(['a', 'a', 'b', 'c', 'd', 'e']);
    workers.stop();
  });

  it('retries a failing key with backoff, then resets it on success', async () => {
    const q = new WorkQueue({ backoff: fast });
    let attempts = 0;
    const errors: unknown[] = [];
    const succeeded = deferred();
    const workers = runWorkers(
      q,
      1,
      async () => {
        if (++attempts < 4) throw new Error(`attempt ${attempts}`);
        succeeded.resolve();
      },
      (_key, error) => errors.push(error),
    );
    q.add('flaky');
    await succeeded.promise;
    await workers.drain();
    expect(attempts).toBe(4);
    expect(errors.map((e) => (e as Error).message)).toEqual(['attempt 1', 'attempt 2', 'attempt 3']);
    expect(q.failureCount('flaky')).toBe(0);
    workers.stop();
  });

  it('requeues after the delay a reconcile asks for', async () => {
    const q = new WorkQueue();
    let calls = 0;
    const workers = runWorkers(q, 1, async () => (++calls === 1 ? { requeueAfterMs: 5 } : undefined));
    q.add('a');
    await until(() => calls === 2, 'the requeue');
    workers.stop();
    q.shutDown();
  });

  it('takes no new work after stop, and drain waits for work in flight', async () => {
    const q = new WorkQueue();
    const release = deferred();
    const started: string[] = [];
    const workers = runWorkers(q, 1, async (key) => {
      started.push(key);
      await release.promise;
    });
    q.add('a');
    await until(() => started.length === 1, 'the first reconcile');
    workers.stop();
    q.add('b');
    release.resolve();
    await workers.drain();
    expect(started).toEqual(['a']);
    expect(q.length).toBe(1);
  });

  it('a reconcile parked on a shared wait lends its slot: one wait serves every key', async () => {
    const q = new WorkQueue();
    const push = deferred();
    const parked: string[] = [];
    const finished: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const workers = runWorkers(q, 2, async (key) => {
      maxRunning = Math.max(maxRunning, ++running);
      running--;
      parked.push(key);
      await parkWhile(push.promise);
      maxRunning = Math.max(maxRunning, ++running);
      await new Promise((r) => setTimeout(r, 2));
      running--;
      finished.push(key);
    });
    for (const key of ['a', 'b', 'c', 'd', 'e']) q.add(key);
    // With 2 slots and no parking, only a and b could ever wait for the push.
    await until(() => parked.length === 5, 'every key waiting on the one push');
    expect(workers.active).toBe(0);
    push.resolve();
    await until(() => finished.length === 5, 'every key finished');
    await workers.drain();
    // Resumed reconciles take slots again: never more than 2 run at once.
    expect(maxRunning).toBe(2);
    expect(workers.active).toBe(0);
    workers.stop();
  });

  it('outside a worker pool, parkWhile is a plain await', async () => {
    await expect(parkWhile(Promise.resolve(7))).resolves.toBe(7);
    await expect(parkWhile(Promise.reject(new Error('push failed')))).rejects.toThrow('push failed');
  });
});
