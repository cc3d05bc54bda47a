// `pvctl suspend`, `pvctl resume` and `pvctl request-reconcile`: asking the controller running in the
// cluster (`pvctl run`) to stop writing, to write again, or to reconcile one object now. They only
// patch the object (spec.suspend; the packagevariant.dev/reconcile-requested-at annotation, as Flux's
// reconcile.fluxcd.io/requestedAt); `--wait` follows its status until the controller has handled it.
// Not to be confused with `pvctl reconcile -f`, which reconciles files locally with no cluster.
import type { Command } from 'commander';
import {
  GROUP,
  PACKAGE_VARIANT_SET_LABEL,
  RECONCILE_REQUEST_ANNOTATION,
  VERSION,
  type Condition,
  type KubeObject,
} from '../../api/v1alpha1/index.ts';
import { mergePatch } from '../../lib/kube/client.ts';
import { getCondition } from '../../lib/kube/conditions.ts';
import { parseDuration } from '../duration.ts';
import { FAILED_EXIT, UsageError } from '../exit-codes.ts';
import { addKubeOptions, call, connect, type Cluster, type KubeFlagOptions } from '../kube-options.ts';
import { resolveKind, type ResourceKind } from '../printers.ts';
import { consoleIo as clusterConsoleIo, getObject, listObjects, type ClusterIo } from './cluster.ts';

type Status = { observedGeneration?: number; conditions?: Condition[]; lastHandledReconcileAt?: string };
type Controlled = KubeObject & { spec?: { suspend?: boolean }; status?: Status };

interface ControlOptions extends KubeFlagOptions {
  wait?: boolean;
  timeout?: string;
  withVariants?: boolean;
}

const consoleIo: ClusterIo & { sleep(ms: number): Promise<void> } = {
  ...clusterConsoleIo,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
type ControlIo = typeof consoleIo;

const CONTROLLED = ['PackageVariant', 'PackageVariantSet'] as const;

async function patch(cluster: Cluster, kind: ResourceKind, name: string, body: object): Promise<Controlled> {
  return (await call(cluster, () =>
    cluster.clients.customObjects.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace: cluster.namespace!, plural: kind.plural, name, body },
      mergePatch,
    ),
  )) as Controlled;
}

const label = (kind: ResourceKind, obj: KubeObject) => `${kind.kind} ${obj.metadata?.namespace}/${obj.metadata?.name}`;

/** A value that differs from any earlier request: the time, as Flux writes it. */
export function requestValue(now: number): string {
  return new Date(now).toISOString();
}

/**
 * Polls until the controller has handled `requested` (status.lastHandledReconcileAt) on the
 * current generation; prints the Ready condition; 0 when Ready, 1 when not, or when time runs out.
 */
async function waitHandled(
  cluster: Cluster,
  kind: ResourceKind,
  name: string,
  requested: string,
  timeoutMs: number,
  io: ControlIo,
): Promise<number> {
  const deadline = io.now() + timeoutMs;
  for (;;) {
    const obj = (await getObject(cluster, kind, name)) as Controlled;
    const status = obj.status ?? {};
    if (status.lastHandledReconcileAt === requested && status.observedGeneration === obj.metadata?.generation) {
      const ready = getCondition(status.conditions, 'Ready');
      io.out(
        `${label(kind, obj)}: Ready=${ready?.status ?? 'Unknown'} ${ready?.reason ?? ''}: ${ready?.message ?? ''}`,
      );
      return ready?.status === 'True' ? 0 : FAILED_EXIT;
    }
    if (io.now() >= deadline) {
      io.err(
        `${label(kind, obj)}: the request was not handled in ${timeoutMs / 1000}s: is the controller (pvctl run) running and watching namespace ${cluster.namespace}?`,
      );
      return FAILED_EXIT;
    }
    await io.sleep(250);
  }
}

/** The command line, checked before the cluster is contacted: the kind, and how long --wait waits. */
function parseArgs(type: string, names: string[], options: ControlOptions): { kind: ResourceKind; timeoutMs: number } {
  const kind = resolveKind(type, CONTROLLED);
  if (!names.length) throw new UsageError(`a name is required: pvctl <command> ${kind.short} NAME...`);
  if (options.withVariants && kind.kind !== 'PackageVariantSet') {
    throw new UsageError('--with-variants is for a PackageVariantSet (pvset)');
  }
  return { kind, timeoutMs: parseDuration(options.timeout ?? '2m') };
}

export async function runRequestReconcile(
  type: string,
  names: string[],
  options: ControlOptions,
  io: ControlIo = consoleIo,
): Promise<number> {
  const { kind, timeoutMs } = parseArgs(type, names, options);
  const cluster = connect(options);
  const requested = requestValue(io.now());
  const body = { metadata: { annotations: { [RECONCILE_REQUEST_ANNOTATION]: requested } } };
  let code = 0;
  const pvar = resolveKind('pvar');
  for (const name of names) {
    const obj = await patch(cluster, kind, name, body);
    io.out(`${label(kind, obj)}: reconcile requested at ${requested}`);
    if (obj.spec?.suspend)
      io.err(`${label(kind, obj)} is suspended: it is observed, nothing is written (pvctl resume)`);
    const variants = options.withVariants
      ? await listObjects(cluster, pvar, `${PACKAGE_VARIANT_SET_LABEL}=${obj.metadata?.uid ?? ''}`)
      : [];
    const toWait: [ResourceKind, string][] = [[kind, name]];
    for (const pv of variants) {
      await patch(cluster, pvar, pv.metadata!.name!, body);
      io.out(`${label(pvar, pv)}: reconcile requested at ${requested}`);
      toWait.push([pvar, pv.metadata!.name!]);
    }
    if (options.wait === false) continue;
    for (const [k, n] of toWait) code = Math.max(code, await waitHandled(cluster, k, n, requested, timeoutMs, io));
  }
  return code;
}

export async function runSuspend(
  suspend: boolean,
  type: string,
  names: string[],
  options: ControlOptions,
  io: ControlIo = consoleIo,
): Promise<number> {
  const { kind, timeoutMs } = parseArgs(type, names, options);
  const cluster = connect(options);
  let code = 0;
  for (const name of names) {
    // Resume also asks for a reconcile now, so the controller fetches git instead of waiting for a poll.
    const requested = requestValue(io.now());
    const body = suspend
      ? { spec: { suspend: true } }
      : { spec: { suspend: null }, metadata: { annotations: { [RECONCILE_REQUEST_ANNOTATION]: requested } } };
    const obj = await patch(cluster, kind, name, body);
    io.out(`${label(kind, obj)} ${suspend ? 'suspended' : 'resumed'}`);
    if (!suspend && options.wait)
      code = Math.max(code, await waitHandled(cluster, kind, name, requested, timeoutMs, io));
  }
  return code;
}

const WAIT_HELP = 'how long --wait waits for the controller';

export function registerRequestReconcile(program: Command): void {
  addKubeOptions(
    program
      .command('request-reconcile')
      .description(
        'ask the controller in the cluster to reconcile a PackageVariant or PackageVariantSet now (git fetched again), and wait for the result; not `pvctl reconcile -f`',
      )
      .argument('<type>', 'pvar or pvset')
      .argument('<name...>', 'the objects')
      .option('--no-wait', 'return once the request is made')
      .option('--timeout <duration>', WAIT_HELP, '2m')
      .option('--with-variants', "a set's generated variants too"),
  ).action(async (type: string, names: string[], options: ControlOptions) => {
    process.exitCode = await runRequestReconcile(type, names, options);
  });
}

export function registerSuspend(program: Command): void {
  addKubeOptions(
    program
      .command('suspend')
      .description(
        'suspend a PackageVariant or PackageVariantSet (spec.suspend: true): the controller observes it and writes nothing to git',
      )
      .argument('<type>', 'pvar or pvset')
      .argument('<name...>', 'the objects'),
  ).action(async (type: string, names: string[], options: ControlOptions) => {
    process.exitCode = await runSuspend(true, type, names, options);
  });
}

export function registerResume(program: Command): void {
  addKubeOptions(
    program
      .command('resume')
      .description('resume a suspended PackageVariant or PackageVariantSet, and request a reconcile now')
      .argument('<type>', 'pvar or pvset')
      .argument('<name...>', 'the objects')
      .option('--wait', 'wait until the controller has reconciled it; exit 1 when it is not Ready')
      .option('--timeout <duration>', WAIT_HELP, '2m'),
  ).action(async (type: string, names: string[], options: ControlOptions) => {
    process.exitCode = await runSuspend(false, type, names, options);
  });
}
