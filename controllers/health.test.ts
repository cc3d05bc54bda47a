import { describe, expect, it } from '@jest/globals';
import { EventLoopMonitor, readiness } from './health.ts';

describe('EventLoopMonitor', () => {
  const monitor = () => {
    const clock = { now: 0 };
    const m = new EventLoopMonitor({ intervalMs: 500, limitMs: 5_000, windowMs: 30_000, now: () => clock.now });
    return { m, clock };
  };

  it('is healthy while heartbeats come on time, or a little late', () => {
    const { m, clock } = monitor();
    for (let i = 1; i <= 10; i++) {
      clock.now = i * 500 + 40; // 40 ms late each time
      m.beat();
    }
    expect(m.check()).toEqual({ ok: true, body: 'ok\n' });
    expect(m.delayMs()).toBe(0);
  });

  it('fails after a stall of the limit or longer, and recovers once the stall leaves the window', () => {
    const { m, clock } = monitor();
    clock.now = 500;
    m.beat();
    clock.now = 1_000 + 6_000; // the next heartbeat fired 6 s late: the loop was blocked
    m.beat();
    expect(m.check()).toEqual({ ok: false, body: 'event loop delayed 6.0s (limit 5.0s)\n' });
    for (let t = 7_500; t <= 40_000; t += 500) {
      clock.now = t;
      m.beat();
    }
    expect(m.check().ok).toBe(true);
  });

  it('fails while a heartbeat is overdue by the limit (timers starved), before it fires', () => {
    const { m, clock } = monitor();
    clock.now = 500;
    m.beat();
    clock.now = 1_000 + 4_999;
    expect(m.check().ok).toBe(true);
    clock.now = 1_000 + 5_000;
    expect(m.check()).toMatchObject({ ok: false });
  });

  it('beats on a real timer', async () => {
    const m = new EventLoopMonitor({ intervalMs: 10 });
    m.start();
    await new Promise((resolve) => setTimeout(resolve, 50));
    m.stop();
    expect(m.check().ok).toBe(true);
  });
});

describe('readiness', () => {
  const informer = (name: string, synced: boolean, watching: boolean) => ({ name, health: { synced, watching } });

  it('is ready when every informer has synced and is watching', () => {
    expect(readiness([informer('a', true, true), informer('b', true, true)], false)).toEqual({
      ok: true,
      body: 'ok\n',
    });
  });

  it('names the informers that are not ready, and says when shutting down', () => {
    expect(
      readiness([informer('a', false, false), informer('b', true, false), informer('c', true, true)], false),
    ).toEqual({
      ok: false,
      body: 'informer a: not synced\ninformer b: not watching\n',
    });
    expect(readiness([informer('a', true, true)], true)).toEqual({ ok: false, body: 'shutting down\n' });
  });
});
