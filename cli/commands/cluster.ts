// `pvctl get`, `pvctl describe`, `pvctl events`: what the cluster holds, read as kubectl reads it
// (the same flags, table, List and name output), with this project's columns and sections.
import type { Command } from 'commander';
import {
  API_VERSION,
  GROUP,
  PACKAGE_VARIANT_SET_LABEL,
  VERSION,
  type KubeObject,
  type PackageVariant,
  type PackageVariantSet,
} from '../../api/v1alpha1/index.ts';
import { UsageError } from '../exit-codes.ts';
import { addKubeOptions, call, connect, type Cluster, type KubeFlagOptions } from '../kube-options.ts';
import { parseOutputFormat, serialize } from '../output.ts';
import {
  describeSet,
  describeVariant,
  isOutdated,
  listOf,
  parseGetFormat,
  printEvents,
  printObjects,
  printTable,
  resolveKind,
  type EventLike,
  type ResourceKind,
} from '../printers.ts';

export interface ClusterIo {
  out(text: string): void;
  err(text: string): void;
  now(): number;
}
export const consoleIo: ClusterIo = {
  out: (t) => console.log(t),
  err: (t) => console.error(t),
  now: () => Date.now(),
};

interface ListResult {
  items?: KubeObject[];
}

export async function listObjects(cluster: Cluster, kind: ResourceKind, labelSelector?: string): Promise<KubeObject[]> {
  const selector = labelSelector ? { labelSelector } : {};
  const list = (await call(cluster, () =>
    cluster.namespace === undefined
      ? cluster.clients.customObjects.listCustomObjectForAllNamespaces({
          group: GROUP,
          version: VERSION,
          resourcePlural: kind.plural,
          ...selector,
        })
      : cluster.clients.customObjects.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: cluster.namespace,
          plural: kind.plural,
          ...selector,
        }),
  )) as ListResult;
  return list.items ?? [];
}

export async function getObject(cluster: Cluster, kind: ResourceKind, name: string): Promise<KubeObject> {
  return (await call(cluster, () =>
    cluster.clients.customObjects.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: cluster.namespace!,
      plural: kind.plural,
      name,
    }),
  )) as KubeObject;
}

/** Events about our objects: of one object (kind and name), or of every packagevariant.dev object. */
export async function listEvents(
  cluster: Cluster,
  about?: { kind: string; name: string; uid?: string },
): Promise<EventLike[]> {
  const fieldSelector = about
    ? `involvedObject.kind=${about.kind},involvedObject.name=${about.name}`
    : `involvedObject.apiVersion=${API_VERSION}`;
  const list = await call(cluster, () =>
    cluster.namespace === undefined
      ? cluster.clients.core.listEventForAllNamespaces({ fieldSelector })
      : cluster.clients.core.listNamespacedEvent({ namespace: cluster.namespace, fieldSelector }),
  );
  const events = (list.items ?? []) as EventLike[];
  // A former object of the same name (deleted and created again) had its own events.
  return about?.uid ? events.filter((e) => !e.involvedObject?.uid || e.involvedObject.uid === about.uid) : events;
}

interface GetOptions extends KubeFlagOptions {
  output?: string;
  selector?: string;
  /** Only variants whose published downstream is behind their upstream (status.upstream.behind > 0). */
  outdated?: boolean;
}

export async function runGet(
  type: string,
  names: string[],
  options: GetOptions,
  io: ClusterIo = consoleIo,
): Promise<number> {
  const kind = resolveKind(type);
  const format = parseGetFormat(options.output);
  if (names.length && options.allNamespaces) throw new UsageError('a NAME cannot be used with -A/--all-namespaces');
  if (names.length && options.selector) throw new UsageError('a NAME cannot be used with -l/--selector');
  if (options.outdated && kind.kind !== 'PackageVariant') throw new UsageError('--outdated is for pvar only');
  const cluster = connect(options);
  const found = names.length
    ? await Promise.all(names.map((name) => getObject(cluster, kind, name)))
    : await listObjects(cluster, kind, options.selector);
  const objects = options.outdated ? found.filter((o) => isOutdated(o as PackageVariant)) : found;
  if (format === 'yaml' || format === 'json' || format === 'name') {
    if (objects.length || format !== 'name') {
      io.out(printObjects(kind, objects, format, names.length === 1 && objects.length === 1));
    }
    return 0;
  }
  if (!objects.length) {
    const what = options.outdated ? 'No outdated resources found' : 'No resources found';
    io.err(cluster.namespace === undefined ? what : `${what} in ${cluster.namespace} namespace.`);
    return 0;
  }
  io.out(
    printTable(kind, objects, {
      wide: format === 'wide',
      allNamespaces: cluster.namespace === undefined,
      now: io.now(),
    }),
  );
  return 0;
}

export async function runDescribe(
  type: string,
  names: string[],
  options: KubeFlagOptions,
  io: ClusterIo = consoleIo,
): Promise<number> {
  const kind = resolveKind(type, ['PackageVariant', 'PackageVariantSet']);
  const cluster = connect(options);
  const objects = names.length
    ? await Promise.all(names.map((n) => getObject(cluster, kind, n)))
    : await listObjects(cluster, kind);
  const texts: string[] = [];
  for (const obj of objects) {
    const inItsNamespace = { ...cluster, namespace: obj.metadata?.namespace ?? cluster.namespace };
    const events = await listEvents(inItsNamespace, {
      kind: kind.kind,
      name: obj.metadata!.name!,
      uid: obj.metadata?.uid,
    });
    if (kind.kind === 'PackageVariant') texts.push(describeVariant(obj as PackageVariant, events, io.now()));
    else {
      const variants = (await listObjects(
        inItsNamespace,
        resolveKind('pvar'),
        `${PACKAGE_VARIANT_SET_LABEL}=${obj.metadata?.uid ?? ''}`,
      )) as PackageVariant[];
      texts.push(describeSet(obj as PackageVariantSet, variants, events, io.now()));
    }
  }
  if (!texts.length) {
    io.err(`No resources found in ${cluster.namespace} namespace.`);
    return 0;
  }
  io.out(texts.join('\n\n\n'));
  return 0;
}

interface EventsOptions extends KubeFlagOptions {
  output?: string;
  types?: string[];
}

export async function runEvents(
  type: string | undefined,
  name: string | undefined,
  options: EventsOptions,
  io: ClusterIo = consoleIo,
): Promise<number> {
  if (type && !name) throw new UsageError(`a name is required after ${type}: pvctl events ${type} NAME`);
  const kind = type ? resolveKind(type, ['PackageVariant', 'PackageVariantSet']) : undefined;
  const format = parseOutputFormat(options.output);
  const types = (options.types ?? []).flatMap((t) => t.split(',')).filter(Boolean);
  for (const t of types) {
    if (t !== 'Normal' && t !== 'Warning')
      throw new UsageError(`--types: unknown event type ${JSON.stringify(t)}; use Normal or Warning`);
  }
  const cluster = connect(options);
  const about =
    kind && name ? { kind: kind.kind, name, uid: (await getObject(cluster, kind, name)).metadata?.uid } : undefined;
  const events = (await listEvents(cluster, about)).filter((e) => !types.length || types.includes(e.type ?? ''));
  if (format !== 'table') {
    io.out(serialize(listOf(events), format));
    return 0;
  }
  if (!events.length) {
    io.err(cluster.namespace === undefined ? 'No events found.' : `No events found in ${cluster.namespace} namespace.`);
    return 0;
  }
  io.out(printEvents(events, { allNamespaces: cluster.namespace === undefined, now: io.now() }));
  return 0;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerGet(program: Command): void {
  addKubeOptions(
    program
      .command('get')
      .description('list PackageVariants, PackageVariantSets or Repositories in the cluster (like kubectl get)')
      .argument('<type>', 'pvar, pvset or pvrepo (or packagevariant, packagevariantset, repository)')
      .argument('[name...]', 'only these objects')
      .option('-o, --output <format>', 'wide, yaml, json or name (default: a table)')
      .option('-l, --selector <selector>', 'label selector, e.g. team=edge,tier!=gold')
      .option('--outdated', 'pvar only: just the variants whose published downstream is behind their upstream'),
    { allNamespaces: true },
  ).action(async (type: string, names: string[], options: GetOptions) => {
    process.exitCode = await runGet(type, names, options);
  });
}

export function registerDescribe(program: Command): void {
  addKubeOptions(
    program
      .command('describe')
      .description('show a PackageVariant or PackageVariantSet: spec, conditions, targets, conflicts and recent events')
      .argument('<type>', 'pvar or pvset')
      .argument('[name...]', 'the objects (default: every one in the namespace)'),
  ).action(async (type: string, names: string[], options: KubeFlagOptions) => {
    process.exitCode = await runDescribe(type, names, options);
  });
}

export function registerEvents(program: Command): void {
  addKubeOptions(
    program
      .command('events')
      .description('list the events of PackageVariants and PackageVariantSets (like kubectl events), oldest first')
      .argument('[type]', 'pvar or pvset: the events of one object')
      .argument('[name]', 'its name')
      .option('-o, --output <format>', 'yaml or json (a kind: List; default: a table)')
      .option('--types <type>', 'only events of this type: Normal, Warning (repeatable, or comma-separated)', collect),
    { allNamespaces: true },
  ).action(async (type: string | undefined, name: string | undefined, options: EventsOptions) => {
    process.exitCode = await runEvents(type, name, options);
  });
}
