// Polls each upstream repository once per interval (jittered), however many variants follow it,
// and enqueues only the variants whose upstream package *tree* changed. A poll is one ls-remote;
// resolving packages (and fetching) happens only when a ref moved or a watch is new.
import type { UpstreamIndex, UpstreamWatch } from './index.ts';
import { resolveWatches, type UpstreamRevision, type UpstreamSource } from './source.ts';

export type { UpstreamRevision, UpstreamSource } from './source.ts';

export type PollResult = 'unchanged' | 'changed' | 'error';

export interface UpstreamWatcherOptions {
  index: UpstreamIndex;
  sourceFor(repo: string): UpstreamSource | undefined;
  /** Called with the variants whose upstream changed. Must not throw (it should only enqueue). */
  enqueue(variants: string[]): void;
  intervalMs?: number;
  /** Fraction of the interval added at random to each wait, so repositories do not poll in lockstep. */
  jitter?: number;
  onPoll?(repo: string, result: PollResult, detail: { durationMs: number; error?: unknown }): void;
  /** A watch that was resolved before now resolves to a different package tree (a new revision). */
  onRevision?(watch: UpstreamWatch, revision: UpstreamRevision): void;
  random?: () => number;
}

const revisionKey = (w: UpstreamWatch) => `${w.repo}\u0000${w.package}\u0000${w.track}`;

export class UpstreamWatcher {
  private readonly options: Required<Omit<UpstreamWatcherOptions, 'onPoll' | 'onRevision'>> &
    Pick<UpstreamWatcherOptions, 'onPoll' | 'onRevision'>;
  private readonly heads = new Map<string, Map<string, string>>();
  private readonly revisions = new Map<string, UpstreamRevision | undefined>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly inFlight = new Map<string, Promise<PollResult>>();
  private readonly again = new Set<string>();
  private running = false;

  constructor(options: UpstreamWatcherOptions) {
    this.options = { intervalMs: 60_000, jitter: 0.1, random: Math.random, ...options };
  }

  /** Starts polling every repository in the index; call `track(repo)` when a repository is added later. */
  start(): void {
    this.running = true;
    for (const repo of this.options.index.repositories()) this.track(repo);
  }

  stop(): void {
    this.running = false;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /** Makes sure `repo` is polled; the first poll comes after a random part of one interval. */
  track(repo: string): void {
    if (!this.running || this.timers.has(repo)) return;
    this.schedule(repo, this.options.random() * this.options.intervalMs);
  }

  /** The last revision seen for a watch (undefined when never resolved or not found). */
  current(watch: UpstreamWatch): UpstreamRevision | undefined {
    return this.revisions.get(revisionKey(watch));
  }

  /** Records what a reconcile saw, so the next poll enqueues the variant only if the tree differs. */
  noteResolved(watch: UpstreamWatch, revision: UpstreamRevision): void {
    this.revisions.set(revisionKey(watch), revision);
  }

  /**
   * Polls `repo` now (webhooks). Polls of one repository never overlap: a request during a poll
   * runs once more right after it, however many requests came in.
   */
  pollNow(repo: string): Promise<PollResult> {
    const running = this.inFlight.get(repo);
    if (running) {
      this.again.add(repo);
      return running;
    }
    const poll = this.poll(repo).finally(() => {
      this.inFlight.delete(repo);
      if (this.again.delete(repo)) void this.pollNow(repo);
    });
    this.inFlight.set(repo, poll);
    return poll;
  }

  /** One poll loop per repository: its entry stays in `timers` while it polls, so `track` adds none. */
  private schedule(repo: string, delayMs: number): void {
    clearTimeout(this.timers.get(repo));
    const timer = setTimeout(async () => {
      if (!this.running) return;
      const watched = () => this.options.index.watchesOf(repo).length > 0;
      if (watched()) await this.pollNow(repo);
      if (this.running && watched()) {
        this.schedule(repo, this.options.intervalMs * (1 + this.options.jitter * this.options.random()));
      } else {
        this.timers.delete(repo);
      }
    }, delayMs);
    timer.unref();
    this.timers.set(repo, timer);
  }

  private async poll(repo: string): Promise<PollResult> {
    const started = performance.now();
    const report = (result: PollResult, error?: unknown) => {
      this.options.onPoll?.(repo, result, { durationMs: performance.now() - started, error });
      return result;
    };
    const source = this.options.sourceFor(repo);
    const watches = this.options.index.watchesOf(repo);
    if (!source || watches.length === 0) return report('unchanged');
    try {
      const heads = await source.heads();
      const previous = this.heads.get(repo);
      const unresolved = watches.filter((w) => !this.revisions.has(revisionKey(w)));
      if (previous && sameRefs(previous, heads) && unresolved.length === 0) return report('unchanged');
      this.heads.set(repo, heads);
      const resolved = await resolveWatches(source, watches, heads);
      const changed: string[] = [];
      for (const watch of watches) {
        const key = revisionKey(watch);
        const known = this.revisions.has(key);
        const before = this.revisions.get(key);
        const after = resolved.get(watch);
        this.revisions.set(key, after);
        if (!known || before?.tree !== after?.tree) changed.push(...this.options.index.variantsOf(watch));
        if (known && after && before?.tree !== after.tree) this.options.onRevision?.(watch, after);
      }
      if (changed.length) this.options.enqueue(changed);
      return report(changed.length ? 'changed' : 'unchanged');
    } catch (error) {
      return report('error', error);
    }
  }
}

function sameRefs(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [ref, sha] of a) if (b.get(ref) !== sha) return false;
  return true;
}
