// The probes' logic. Liveness: the event loop turns — a heartbeat timer measures how late it fires,
// and a delay over the limit within the last window (or a heartbeat overdue by more than the limit
// now) fails `/healthz`. Readiness: every informer has synced and is watching, and we are not
// shutting down.
export interface ProbeResult {
  ok: boolean;
  body: string;
}

export interface EventLoopMonitorOptions {
  /** Heartbeat period (default 500 ms). */
  intervalMs?: number;
  /** A delay this long or longer makes the process unhealthy (default 5 s). */
  limitMs?: number;
  /** How long a delay is remembered (default 30 s), so a probe arriving after a stall still sees it. */
  windowMs?: number;
  now?: () => number;
}

export class EventLoopMonitor {
  readonly intervalMs: number;
  readonly limitMs: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private expectedAt: number;
  /** Delays over the limit seen within the window: when, and how long. */
  private stalls: Array<{ at: number; delayMs: number }> = [];

  constructor(options: EventLoopMonitorOptions = {}) {
    this.intervalMs = options.intervalMs ?? 500;
    this.limitMs = options.limitMs ?? 5_000;
    this.windowMs = options.windowMs ?? 30_000;
    this.now = options.now ?? (() => performance.now());
    this.expectedAt = this.now() + this.intervalMs;
  }

  start(): void {
    this.expectedAt = this.now() + this.intervalMs;
    this.timer = setInterval(() => this.beat(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One heartbeat (the timer calls it; tests call it with a fake clock). */
  beat(): void {
    const now = this.now();
    const delayMs = Math.max(0, now - this.expectedAt);
    this.expectedAt = now + this.intervalMs;
    if (delayMs >= this.limitMs) this.stalls.push({ at: now, delayMs });
    this.stalls = this.stalls.filter((s) => now - s.at <= this.windowMs);
  }

  /** The longest recent delay: a stall within the window, or how overdue the next heartbeat is now. */
  delayMs(): number {
    const now = this.now();
    const overdue = Math.max(0, now - this.expectedAt);
    const recent = this.stalls.filter((s) => now - s.at <= this.windowMs).map((s) => s.delayMs);
    return Math.max(overdue, ...recent);
  }

  check(): ProbeResult {
    const delayMs = this.delayMs();
    if (delayMs < this.limitMs) return { ok: true, body: 'ok\n' };
    return {
      ok: false,
      body: `event loop delayed ${(delayMs / 1000).toFixed(1)}s (limit ${(this.limitMs / 1000).toFixed(1)}s)\n`,
    };
  }
}

export interface InformerState {
  name: string;
  health: { synced: boolean; watching: boolean };
}

export function readiness(informers: readonly InformerState[], stopping: boolean): ProbeResult {
  const unready = informers.filter((i) => !(i.health.synced && i.health.watching));
  if (!unready.length && !stopping) return { ok: true, body: 'ok\n' };
  const lines = unready.map((i) => `informer ${i.name}: ${i.health.synced ? 'not watching' : 'not synced'}\n`);
  return { ok: false, body: `${stopping ? 'shutting down\n' : ''}${lines.join('')}` };
}
