// Step 4 of a PackageVariant reconcile: the writes a decision asks for. One push of the downstream
// repository's operations (through the coalescer, so concurrent reconciles share it), the events,
// then the publish when the policy allows it, and the metrics.
import type { DownstreamTarget } from '../../api/v1alpha1/index.ts';
import type { BatchResult } from '../../lib/git/batch.ts';
import type { GitStore } from '../../lib/git/store.ts';
import type { VariantMetrics } from '../../lib/metrics/metrics.ts';
import type { ObjectStore } from '../store.ts';
import type { UpstreamWatch } from '../repositories/index.ts';
import type { Decision } from './decide.ts';
import type { GitStores } from './git-stores.ts';
import type { Observed } from './observe.ts';
import { approveOp, publishedTarget } from './publish.ts';
import type { PushCoalescer } from './push-coalescer.ts';

export interface ActDeps {
  objects: ObjectStore;
  stores: GitStores;
  pushes: PushCoalescer;
  metrics?: VariantMetrics;
  /** Called when a variant has written an upstream revision (for the watcher's change detection). */
  upstreamSeen?(watch: UpstreamWatch, revision: { commit: string; tree: string }): void;
  /** Called after the variant's own push to its downstream package (so the watcher does not take it for news). */
  downstreamWritten?(store: GitStore, packageName: string): Promise<void>;
}

/** What act needs of the observation (not the packages: they are let go before the push). */
export type ActedOn = Pick<Observed, 'pv' | 'key' | 'downStore' | 'packageName' | 'upstream'>;

/** Performs the decision; returns the status targets as git now holds them. */
export async function act(deps: ActDeps, observed: ActedOn, decision: Decision): Promise<DownstreamTarget[]> {
  const { pv, downStore, packageName, upstream } = observed;
  let targets = decision.targets;
  const results = decision.ops.length ? await deps.pushes.submit(downStore, decision.ops) : [];
  checkResults(deps.stores, downStore, results);
  const written = decision.write ? results[0] : undefined;
  if (written) {
    targets = [{ ...targets[0]!, ...(written.commit ? { commit: written.commit } : {}) }, ...targets.slice(1)];
    deps.upstreamSeen?.(upstream.watch, { commit: upstream.commit, tree: upstream.tree });
    deps.metrics?.draftWritten(decision.write!.task, decision.write!.kind, upstream.commit, decision.write!.conflicts);
  }
  for (const event of decision.events) deps.objects.recordEvent(pv, event);
  if (decision.render) deps.metrics?.rendered(decision.render.seconds, decision.render.failedFunction);

  let published: DownstreamTarget | undefined;
  if (decision.publish) {
    const lease = written?.commit ?? decision.publish.expectedCommit;
    const [result] = await deps.pushes.submit(downStore, [approveOp(packageName, decision.publish.workspace, lease)]);
    checkResults(deps.stores, downStore, result ? [result] : []);
    if (result?.status === 'created') {
      deps.metrics?.published();
      deps.objects.recordEvent(pv, {
        type: 'Normal',
        reason: 'DraftPublished',
        message: `published ${packageName} v${result.revision} (publishPolicy Automatic)`,
      });
      published = publishedTarget(
        targets[0]!.name,
        result,
        downStore.packagePath(packageName),
        targets[0]!.upstreamCommit,
      );
      targets = [published, ...targets.slice(1)];
    }
  }
  if (decision.ops.length || published) await deps.downstreamWritten?.(downStore, packageName);
  if (deps.metrics) {
    const final = targets[0];
    const draftPending = final?.lifecycle === 'Draft' || final?.lifecycle === 'Proposed';
    deps.metrics.variantState(observed.key, {
      outdated: published ? false : decision.outdated,
      draftPending,
      conflicted: draftPending && Boolean(final?.conflicts?.length),
      upstreamCommit: upstream.commit,
    });
  }
  return targets;
}

/** Someone else moved the refs we planned from: look again with fresh refs, after a backoff. */
export function checkResults(stores: GitStores, store: GitStore, results: BatchResult[]): void {
  const failed = results.filter((r) => r.status === 'rejected' || r.status === 'already-exists');
  if (!failed.length) return;
  stores.invalidate(store);
  throw new Error(
    `git ${store.url}: ${failed.map((r) => `${r.op} ${r.packageName ?? ''}/${r.workspace ?? ''} ${r.status}${r.message ? `: ${r.message}` : ''}`).join('; ')}`,
  );
}
