// When each upstream commit was first seen (by a poll, a webhook-triggered poll or a reconcile),
// so that the upgrade draft carrying it can report the lag. Bounded: the oldest entries go first.
const MAX_COMMITS = 10_000;

export class UpgradeLagTracker {
  private readonly firstSeenAt = new Map<string, number>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  seen(commit: string): void {
    if (this.firstSeenAt.has(commit)) return;
    this.firstSeenAt.set(commit, this.now());
    if (this.firstSeenAt.size > MAX_COMMITS) {
      const oldest = this.firstSeenAt.keys().next().value;
      if (oldest !== undefined) this.firstSeenAt.delete(oldest);
    }
  }

  firstSeen(commit: string): number | undefined {
    return this.firstSeenAt.get(commit);
  }

  /** Seconds since `commit` was first seen; undefined when it never was. */
  lagSeconds(commit: string): number | undefined {
    const at = this.firstSeenAt.get(commit);
    return at === undefined ? undefined : Math.max(0, (this.now() - at) / 1000);
  }
}
