// Concurrency slots for reconciles. A reconcile that waits for work other reconciles add to — a git
// push gathering the writes of many variants — parks: it gives its slot to the next key while it
// waits, and takes a slot again (before any new key) when the wait is over. Without parking, every
// worker would wait on its own push and each push would carry the writes of only `concurrency`
// reconciles.
import { AsyncLocalStorage } from 'node:async_hooks';
import { Fifo } from '../fifo.ts';

export class WorkerPool {
  private readonly concurrency: number;
  private readonly maxParked: number;
  private readonly onSlotFree: () => void;
  private running = 0;
  private parked = 0;
  private inFlight = 0;
  private readonly resuming = new Fifo<() => void>();
  private idle: (() => void)[] = [];

  /**
   * `onSlotFree` is called (in a microtask) whenever a slot becomes free for a new key; at most
   * `maxParked` reconciles wait parked at once, so that what they hold in memory stays bounded.
   */
  constructor(options: { concurrency: number; maxParked?: number; onSlotFree: () => void }) {
    this.concurrency = options.concurrency;
    this.maxParked = options.maxParked ?? options.concurrency * 16;
    this.onSlotFree = options.onSlotFree;
  }

  /** Reconciles holding a slot (parked ones excluded). */
  get active(): number {
    return this.running;
  }

  /** True when a new key may start now (parked reconciles resuming come first). */
  hasFreeSlot(): boolean {
    return this.running < this.concurrency && this.resuming.length === 0;
  }

  /** Runs `task` in a slot (the caller checked `hasFreeSlot`); `parkWhile` inside it can give the slot back. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    this.running++;
    this.inFlight++;
    try {
      return await currentPool.run(this, task);
    } finally {
      this.running--;
      this.inFlight--;
      this.handOff();
    }
  }

  /** Resolves when no reconcile is running or parked. */
  drain(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  async parkWhile<T>(wait: Promise<T>): Promise<T> {
    if (this.parked >= this.maxParked) return wait;
    this.parked++;
    this.running--;
    this.handOff();
    try {
      return await wait;
    } finally {
      this.parked--;
      await this.resume();
    }
  }

  private resume(): Promise<void> {
    if (this.running < this.concurrency && this.resuming.length === 0) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.resuming.push(resolve));
  }

  private handOff(): void {
    while (this.running < this.concurrency && this.resuming.length) {
      this.running++;
      this.resuming.shift()!();
    }
    if (this.running < this.concurrency) queueMicrotask(this.onSlotFree);
    if (this.inFlight === 0) {
      const idle = this.idle;
      this.idle = [];
      for (const resolve of idle) resolve();
    }
  }
}

const currentPool = new AsyncLocalStorage<WorkerPool>();

/**
 * Awaits `wait`; inside a `WorkerPool` task the slot is given to other work meanwhile. Outside a
 * pool (e.g. a one-shot local pass) it is a plain await.
 */
export function parkWhile<T>(wait: Promise<T>): Promise<T> {
  const pool = currentPool.getStore();
  return pool ? pool.parkWhile(wait) : wait;
}
