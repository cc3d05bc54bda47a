// A fixed set of worker threads running one script, for CPU work that should not hold the main
// thread's event loop (which does the git and Kubernetes I/O). A task goes to the thread with the
// fewest tasks in flight; a thread that dies fails its own tasks and is replaced on the next task.
// Idle threads do not keep the process alive.
import { parentPort, Worker, type Transferable } from 'node:worker_threads';

interface Request {
  id: number;
  task: unknown;
}

type Reply = { id: number; value: unknown } | { id: number; error: unknown };

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface Thread {
  worker: Worker;
  pending: Map<number, Pending>;
}

export interface ThreadPoolOptions {
  /** The worker script: it calls {@link serveThread}. */
  script: URL;
  /** Number of threads (at least 1). */
  size: number;
  /** Turns what the worker's handler threw (after structured clone) back into an error. */
  reviveError?(error: unknown): unknown;
  /** Called when thread `index` starts (first, or replacing one that died): it holds nothing yet. */
  onStart?(index: number): void;
}

export class ThreadPool<Task, Result> {
  private readonly options: ThreadPoolOptions;
  private readonly threads: (Thread | undefined)[];
  private nextId = 0;
  private closed = false;

  constructor(options: ThreadPoolOptions) {
    this.options = options;
    this.threads = Array.from({ length: Math.max(1, options.size) }, () => undefined);
  }

  /** Runs `task` on a thread; `transfer` lists buffers handed over (unusable here afterwards). */
  run(task: Task, transfer: readonly Transferable[] = []): Promise<Result> {
    return this.runOn(() => ({ task, transfer }));
  }

  /** Runs the task `prepare` makes for the thread chosen (by index), for senders that track what each thread holds. */
  runOn(prepare: (thread: number) => { task: Task; transfer: readonly Transferable[] }): Promise<Result> {
    if (this.closed) return Promise.reject(new Error('thread pool is closed'));
    const index = this.leastBusy();
    const thread = (this.threads[index] ??= this.start(index));
    const { task, transfer } = prepare(index);
    const id = this.nextId++;
    return new Promise<Result>((resolve, reject) => {
      thread.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      thread.worker.ref();
      try {
        thread.worker.postMessage({ id, task } satisfies Request, [...transfer]);
      } catch (error) {
        // Not cloneable: nothing was sent, so nothing will answer.
        thread.pending.delete(id);
        if (!thread.pending.size) thread.worker.unref();
        reject(error);
      }
    });
  }

  /** Stops every thread; tasks in flight fail. */
  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads.splice(0).filter((t) => t !== undefined);
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  private leastBusy(): number {
    let best = 0;
    for (let i = 0; i < this.threads.length; i++) {
      const thread = this.threads[i];
      if (!thread) return i;
      if (thread.pending.size < this.threads[best]!.pending.size) best = i;
    }
    return best;
  }

  private start(index: number): Thread {
    this.options.onStart?.(index);
    const worker = new Worker(this.options.script);
    worker.unref();
    const thread: Thread = { worker, pending: new Map() };
    const fail = (error: unknown) => {
      if (this.threads[index] === thread) this.threads[index] = undefined;
      for (const task of thread.pending.values()) task.reject(error);
      thread.pending.clear();
    };
    worker.on('message', (reply: Reply) => {
      const task = thread.pending.get(reply.id);
      if (!task) return;
      thread.pending.delete(reply.id);
      if (!thread.pending.size) worker.unref();
      if ('error' in reply) task.reject(this.options.reviveError?.(reply.error) ?? reply.error);
      else task.resolve(reply.value);
    });
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`worker thread exited (code ${code}) with tasks in flight`)));
    return thread;
  }
}

/**
 * The worker side: answers each task with `handle`'s result, or with `describeError` of what it
 * threw. `handle` returns the value and the buffers to hand back.
 */
export function serveThread<Task, Result>(
  handle: (task: Task) => Promise<{ value: Result; transfer?: Transferable[] }>,
  describeError: (error: unknown) => unknown,
): void {
  const port = parentPort;
  if (!port) throw new Error('serveThread: not in a worker thread');
  port.on('message', ({ id, task }: Request) => {
    handle(task as Task).then(
      ({ value, transfer }) => port.postMessage({ id, value } satisfies Reply, transfer ?? []),
      (error: unknown) => port.postMessage({ id, error: describeError(error) } satisfies Reply),
    );
  });
}
