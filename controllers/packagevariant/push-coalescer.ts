// Gathers the git writes of concurrent reconciles into one batch — one fast-import and one atomic
// push — per repository. A wave is pushed as soon as every running reconcile is waiting for its
// push (so a fleet pass pushes each repository once), or after `maxDelayMs` at the latest
// (`Infinity`: only when every running reconcile waits, as in a one-shot local pass). With a
// timer, writes that arrive while their repository is pushing are its next wave, pushed when that
// push ends.
import type { BatchOp, BatchResult, GitBatch } from '../../lib/git/batch.ts';
import type { GitStore } from '../../lib/git/store.ts';
import { parkWhile } from '../../lib/kube/worker-pool.ts';

/** Adds one operation to a batch (each batch method validates its input and adds exactly one op). */
export function addOp(batch: GitBatch, op: BatchOp): void {
  switch (op.kind) {
    case 'createBranch':
      batch.createBranch();
      break;
    case 'createDraft':
      batch.createDraft(op);
      break;
    case 'updateDraft':
      batch.updateDraft(op);
      break;
    case 'propose':
      batch.propose(op);
      break;
    case 'reject':
      batch.reject(op);
      break;
    case 'approve':
      batch.approve(op);
      break;
    case 'deleteDraft':
      batch.deleteDraft(op);
      break;
    case 'proposeDelete':
      batch.proposeDelete(op);
      break;
    case 'undoProposeDelete':
      batch.undoProposeDelete(op);
      break;
    case 'deletePublished':
      batch.deletePublished(op);
      break;
  }
}

interface Submission {
  ops: BatchOp[];
  resolve(results: BatchResult[]): void;
  reject(error: unknown): void;
}

export class PushCoalescer {
  private readonly pending = new Map<GitStore, Submission[]>();
  private readonly pushing = new Map<GitStore, Promise<void>>();
  private active = 0;
  private waiting = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly maxDelayMs: number;
  /** Pushes made, for benchmarks and tests. */
  pushes = 0;

  constructor(options: { maxDelayMs?: number } = {}) {
    this.maxDelayMs = options.maxDelayMs ?? 50;
  }

  /** Runs one reconcile, counted as active, so that waves wait for it. */
  async track<T>(fn: () => Promise<T>): Promise<T> {
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.maybeFlush();
    }
  }

  /** Queues operations for `store`; resolves with their results (in the order they were added). */
  submit(store: GitStore, ops: BatchOp[]): Promise<BatchResult[]> {
    // Invalid input fails here, alone, before it can spoil a shared batch.
    const probe = store.batch();
    for (const op of ops) addOp(probe, op);
    const results = new Promise<BatchResult[]>((resolve, reject) => {
      const queue = this.pending.get(store) ?? [];
      queue.push({ ops, resolve, reject });
      this.pending.set(store, queue);
      this.waiting++;
      this.startTimer();
      this.maybeFlush();
    });
    // A controller worker lends its slot to the next variant meanwhile, so that waves grow.
    return parkWhile(results);
  }

  private startTimer(): void {
    if (Number.isFinite(this.maxDelayMs)) this.timer ??= setTimeout(() => this.flush(), this.maxDelayMs);
  }

  private maybeFlush(): void {
    if (this.waiting > 0 && this.waiting >= this.active) queueMicrotask(() => this.flush());
  }

  /** Pushes everything pending now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const store of [...this.pending.keys()]) this.pushStore(store);
  }

  /** Resolves when nothing is pending or being pushed. */
  async drain(): Promise<void> {
    while (this.pending.size || this.pushing.size) {
      this.flush();
      await Promise.all(this.pushing.values());
    }
  }

  private pushStore(store: GitStore): void {
    if (this.pushing.has(store)) return; // the next wave starts when this push ends
    const wave = this.pending.get(store);
    if (!wave?.length) return;
    this.pending.delete(store);
    const push = this.pushWave(store, wave).finally(() => {
      this.pushing.delete(store);
      if (!this.pending.has(store)) return;
      // What came in during the push has waited as long as a push takes: it is the next wave, now
      // (group commit), so that a busy repository pushes back to back instead of once a timer.
      // Without a timer (a one-shot pass) a wave still waits for every running reconcile.
      if (Number.isFinite(this.maxDelayMs)) queueMicrotask(() => this.pushStore(store));
      else this.maybeFlush();
    });
    this.pushing.set(store, push);
  }

  private async pushWave(store: GitStore, wave: Submission[]): Promise<void> {
    const batch = store.batch();
    const ranges = wave.map((submission) => {
      const start = batch.size;
      for (const op of submission.ops) addOp(batch, op);
      return { start, end: batch.size };
    });
    this.waiting -= wave.length;
    let results: BatchResult[];
    try {
      this.pushes++;
      results = batch.size ? await batch.push() : [];
    } catch (error) {
      for (const submission of wave) submission.reject(error);
      return;
    }
    wave.forEach((submission, i) => submission.resolve(results.slice(ranges[i]!.start, ranges[i]!.end)));
  }
}
