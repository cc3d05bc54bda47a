// Leader election on a coordination.k8s.io/v1 Lease, with client-go's algorithm
// (tools/leaderelection): candidates try to acquire every retryPeriod (jittered); the leader renews
// every retryPeriod and gives up when a renewal has not succeeded within renewDeadline. Writes are
// optimistic (PUT with the resourceVersion read), so two candidates never both win a round.
//
// Clock skew: a lease is judged expired by *our* monotonic clock, leaseDuration after we last saw
// its record change — never by comparing the holder's renewTime with our wall clock.
import type { CoordinationV1Api, V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { apiErrorCode } from './client.ts';
import { microTime, parseMicroTime } from './time.ts';

export interface LeaderElectionTiming {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** controller-runtime's defaults. */
export const DEFAULT_TIMING: LeaderElectionTiming = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};
export const JITTER_FACTOR = 1.2;

/** client-go's rule: leaseDuration > renewDeadline > JITTER_FACTOR × retryPeriod. */
export function validateTiming(t: LeaderElectionTiming): void {
  if (!(t.leaseDurationMs > t.renewDeadlineMs)) {
    throw new Error('the leader election lease duration must be greater than the renew deadline');
  }
  if (!(t.renewDeadlineMs > JITTER_FACTOR * t.retryPeriodMs)) {
    throw new Error(`the leader election renew deadline must be greater than ${JITTER_FACTOR} × the retry period`);
  }
  if (!(t.retryPeriodMs > 0)) throw new Error('the leader election retry period must be positive');
  if (t.leaseDurationMs % 1000 !== 0) throw new Error('the leader election lease duration must be whole seconds');
}

export interface Clock {
  /** Milliseconds on a clock that never jumps (differences only). */
  monotonic(): number;
  /** Wall-clock time, only for the timestamps written into the Lease. */
  wall(): Date;
}

const systemClock: Clock = { monotonic: () => performance.now(), wall: () => new Date() };

/** The fields of a Lease the algorithm reads. */
export interface LeaderRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions: number;
}

export function recordOf(lease: V1Lease): LeaderRecord {
  const spec = lease.spec ?? {};
  const time = (t: unknown) =>
    t === undefined || t === null ? undefined : t instanceof Date ? t.toISOString() : String(t);
  const acquireTime = time(spec.acquireTime);
  const renewTime = time(spec.renewTime);
  return {
    holderIdentity: spec.holderIdentity ?? '',
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    ...(acquireTime ? { acquireTime } : {}),
    ...(renewTime ? { renewTime } : {}),
    leaseTransitions: spec.leaseTransitions ?? 0,
  };
}

/** The lease record as we last saw it, and when (our monotonic clock) we saw it change. */
export class ObservedLease {
  record: LeaderRecord | undefined;
  observedAt = 0;
  private raw: string | undefined;

  /** Records `record`; the expiry clock restarts only when the record differs from the last one seen. */
  observe(record: LeaderRecord, now: number): void {
    const raw = JSON.stringify(record);
    if (raw === this.raw) return;
    this.raw = raw;
    this.record = record;
    this.observedAt = now;
  }

  /** Whether the holder may still be renewing: less than its leaseDuration since the record last changed. */
  isValid(now: number): boolean {
    return this.record !== undefined && this.observedAt + this.record.leaseDurationSeconds * 1000 > now;
  }

  heldBy(identity: string): boolean {
    return this.record?.holderIdentity === identity;
  }
}

/**
 * Whether `identity` may write itself into the observed lease now, and with which acquireTime and
 * leaseTransitions: not while another holder's lease is valid; the acquire time and transition count
 * are kept when we already hold it, and a new holder counts one more transition.
 */
export function takeover(
  observed: ObservedLease,
  identity: string,
  now: number,
): { keepAcquireTime: boolean; leaseTransitions: number } | undefined {
  const record = observed.record;
  if (!record) return { keepAcquireTime: false, leaseTransitions: 0 };
  if (record.holderIdentity && record.holderIdentity !== identity && observed.isValid(now)) return undefined;
  if (record.holderIdentity === identity) return { keepAcquireTime: true, leaseTransitions: record.leaseTransitions };
  return { keepAcquireTime: false, leaseTransitions: record.leaseTransitions + 1 };
}

export interface LeaderElectorOptions {
  coordination: CoordinationV1Api;
  namespace: string;
  /** The Lease name (`--leader-election-id`). */
  name: string;
  /** Unique per process, e.g. `hostname_uuid`. */
  identity: string;
  timing?: Partial<LeaderElectionTiming>;
  clock?: Clock;
  logger?: Logger;
}

export type ElectionOutcome = 'lost' | 'stopped';

/**
 * One candidate. `run()` campaigns until elected, then renews; it resolves `lost` when a renewal
 * failed for renewDeadline (or another holder took the lease), `stopped` after `stop()`.
 */
export class LeaderElector {
  readonly identity: string;
  readonly timing: LeaderElectionTiming;
  private readonly options: LeaderElectorOptions;
  private readonly clock: Clock;
  private readonly observed = new ObservedLease();
  private readonly listeners = new Set<(isLeader: boolean) => void>();
  private readonly abort = new AbortController();
  private lease: V1Lease | undefined;
  private leading = false;
  private running: Promise<ElectionOutcome> | undefined;

  constructor(options: LeaderElectorOptions) {
    this.options = options;
    this.identity = options.identity;
    this.timing = { ...DEFAULT_TIMING, ...options.timing };
    validateTiming(this.timing);
    this.clock = options.clock ?? systemClock;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Called with `true` when this process becomes the leader and `false` when it stops being it. */
  /** The Lease name (`leader_election_master_status{name}`). */
  get name(): string {
    return this.options.name;
  }

  onLeadershipChange(listener: (isLeader: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  run(): Promise<ElectionOutcome> {
    this.running ??= this.campaign();
    return this.running;
  }

  /** Stops campaigning or renewing and, if we hold the lease, gives it up so a successor takes over at once. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
    if (this.observed.heldBy(this.identity)) await this.release();
    this.setLeading(false);
  }

  private async campaign(): Promise<ElectionOutcome> {
    const { retryPeriodMs, renewDeadlineMs } = this.timing;
    // Acquire: retry every retryPeriod, jittered by up to JITTER_FACTOR, until we hold the lease.
    while (!(await this.tryAcquireOrRenew())) {
      if (!(await this.sleep(retryPeriodMs * (1 + Math.random() * JITTER_FACTOR)))) return 'stopped';
    }
    if (this.abort.signal.aborted) return 'stopped';
    this.log('info', 'acquired the lease; leading');
    this.setLeading(true);
    // Renew every retryPeriod; a round that has not succeeded within renewDeadline loses leadership.
    for (;;) {
      if (!(await this.sleep(retryPeriodMs))) return 'stopped';
      const roundStart = this.clock.monotonic();
      while (!(await this.tryAcquireOrRenew())) {
        if (this.abort.signal.aborted) return 'stopped';
        const elapsed = this.clock.monotonic() - roundStart;
        const otherHolder = this.observed.record && !this.observed.heldBy(this.identity);
        if (otherHolder || elapsed >= renewDeadlineMs) {
          this.log('error', 'leader election lost', {
            holder: this.observed.record?.holderIdentity,
            sinceRoundStartMs: Math.round(elapsed),
          });
          this.setLeading(false);
          return 'lost';
        }
        if (!(await this.sleep(retryPeriodMs))) return 'stopped';
      }
    }
  }

  /** One round of client-go's tryAcquireOrRenew; true when we hold the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.monotonic();
    // Fast path: we lead and our last write is still valid; renew without reading first.
    if (this.lease && this.observed.heldBy(this.identity) && this.observed.isValid(now)) {
      try {
        this.accept(
          await this.replace(
            this.leaseFrom(this.lease, {
              keepAcquireTime: true,
              leaseTransitions: this.observed.record!.leaseTransitions,
            }),
          ),
        );
        return true;
      } catch (err) {
        this.log('debug', 'renewal failed; reading the lease', { err: String(err) });
      }
    }
    let current: V1Lease;
    try {
      current = await this.withDeadline(
        this.options.coordination.readNamespacedLease({ namespace: this.options.namespace, name: this.options.name }),
      );
    } catch (err) {
      if (apiErrorCode(err) !== 404) {
        this.log('warn', 'cannot read the lease', { err: String(err) });
        return false;
      }
      try {
        this.accept(await this.create());
        return true;
      } catch (createErr) {
        this.log('debug', 'cannot create the lease', { err: String(createErr) });
        return false;
      }
    }
    this.lease = current;
    this.observed.observe(recordOf(current), this.clock.monotonic());
    const decision = takeover(this.observed, this.identity, now);
    if (!decision) return false;
    try {
      this.accept(await this.replace(this.leaseFrom(current, decision)));
      return true;
    } catch (err) {
      this.log('debug', 'lost the race for the lease', { err: String(err) });
      return false;
    }
  }

  private leaseFrom(base: V1Lease, decision: { keepAcquireTime: boolean; leaseTransitions: number }): V1Lease {
    const now = this.clock.wall();
    const kept = decision.keepAcquireTime ? base.spec?.acquireTime : undefined;
    const acquireTime = kept ? parseMicroTime(kept instanceof Date ? kept : String(kept)) : now;
    return {
      ...base,
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: this.timing.leaseDurationMs / 1000,
        acquireTime: microTime(acquireTime),
        renewTime: microTime(now),
        leaseTransitions: decision.leaseTransitions,
      },
    };
  }

  private create(): Promise<V1Lease> {
    const now = this.clock.wall();
    return this.withDeadline(
      this.options.coordination.createNamespacedLease({
        namespace: this.options.namespace,
        body: {
          metadata: { name: this.options.name, namespace: this.options.namespace },
          spec: {
            holderIdentity: this.identity,
            leaseDurationSeconds: this.timing.leaseDurationMs / 1000,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        },
      }),
    );
  }

  private replace(body: V1Lease): Promise<V1Lease> {
    return this.withDeadline(
      this.options.coordination.replaceNamespacedLease({
        namespace: this.options.namespace,
        name: this.options.name,
        body,
      }),
    );
  }

  /** Empties the holder with a 1 s duration (client-go's release), so the next candidate need not wait. */
  private async release(): Promise<void> {
    for (let attempt = 0; attempt < 3 && this.lease; attempt++) {
      const now = this.clock.wall();
      try {
        await this.replace({
          ...this.lease,
          spec: {
            holderIdentity: '',
            leaseDurationSeconds: 1,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: this.observed.record?.leaseTransitions ?? 0,
          },
        });
        this.log('info', 'released the lease');
        return;
      } catch (err) {
        if (apiErrorCode(err) !== 409) {
          this.log('warn', 'cannot release the lease', { err: String(err) });
          return;
        }
        // Our copy was stale: release only if we still hold the lease.
        try {
          this.lease = await this.withDeadline(
            this.options.coordination.readNamespacedLease({
              namespace: this.options.namespace,
              name: this.options.name,
            }),
          );
        } catch {
          return;
        }
        if (this.lease.spec?.holderIdentity !== this.identity) return;
      }
    }
  }

  private accept(lease: V1Lease): void {
    this.lease = lease;
    // Our own write: the expiry clock restarts now.
    this.observed.observe(recordOf(lease), this.clock.monotonic());
  }

  /** One hung request must not cost leadership: each call gets max(renewDeadline / 2, 1 s). */
  private withDeadline<T>(call: Promise<T>): Promise<T> {
    const ms = Math.max(this.timing.renewDeadlineMs / 2, 1000);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`lease request timed out after ${ms} ms`)), ms);
    });
    return Promise.race([call, deadline]).finally(() => clearTimeout(timer));
  }

  /** Resolves false at once when stopped. */
  private sleep(ms: number): Promise<boolean> {
    const signal = this.abort.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private setLeading(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    for (const listener of this.listeners) listener(leading);
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields: object = {}): void {
    this.options.logger?.[level](
      { lease: `${this.options.namespace}/${this.options.name}`, identity: this.identity, ...fields },
      msg,
    );
  }
}
