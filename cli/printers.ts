// What `pvctl get`, `describe` and `events` print, from the objects the API server returned: kubectl's
// table printer (NAME first, AGE last, `-o wide` adds columns), kubectl's list and name output, and
// describe's indented sections. Pure: no API, no clock but the `now` given.
import {
  GROUP,
  type Condition,
  type KubeObject,
  type PackageVariant,
  type PackageVariantSet,
  type Repository,
  type UpstreamRevisionRef,
} from '../api/v1alpha1/index.ts';
import { getCondition } from '../lib/kube/conditions.ts';
import { UsageError } from './exit-codes.ts';
import { serialize, table } from './output.ts';

export interface ResourceKind {
  kind: 'PackageVariant' | 'PackageVariantSet' | 'Repository';
  plural: string;
  short: string;
}

export const KINDS: readonly ResourceKind[] = [
  { kind: 'PackageVariant', plural: 'packagevariants', short: 'pvar' },
  { kind: 'PackageVariantSet', plural: 'packagevariantsets', short: 'pvset' },
  { kind: 'Repository', plural: 'repositories', short: 'pvrepo' },
];

/** `pvar`, `packagevariant`, `packagevariants`, `PackageVariant`, `packagevariants.packagevariant.dev`: the kind. */
export function resolveKind(
  name: string,
  allowed: readonly ResourceKind['kind'][] = KINDS.map((k) => k.kind),
): ResourceKind {
  const n = name.toLowerCase().replace(new RegExp(`\\.${GROUP.replace('.', '\\.')}$`), '');
  const kind = KINDS.find((k) => [k.short, k.plural, k.kind.toLowerCase()].includes(n));
  if (!kind || !allowed.includes(kind.kind)) {
    const names = KINDS.filter((k) => allowed.includes(k.kind)).map((k) => k.short);
    throw new UsageError(`unknown resource type ${JSON.stringify(name)}; use ${names.join(', ')}`);
  }
  return kind;
}

export type GetFormat = 'table' | 'wide' | 'yaml' | 'json' | 'name';
export function parseGetFormat(value: string | undefined): GetFormat {
  const format = value ?? 'table';
  if (!['table', 'wide', 'yaml', 'json', 'name'].includes(format)) {
    throw new UsageError(`unknown output format ${JSON.stringify(format)}; use wide, yaml, json or name`);
  }
  return format as GetFormat;
}

/** kubectl's `duration.HumanDuration`: 45s, 5m30s, 3h20m, 30h, 3d5h, 45d, 2y30d. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 ? `${minutes}m${seconds % 60}s` : `${minutes}m`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 ? `${hours}h${minutes % 60}m` : `${hours}h`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 ? `${Math.floor(hours / 24)}d${hours % 24}h` : `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const years = Math.floor(hours / 24 / 365);
  const days = Math.floor(hours / 24) % 365;
  if (hours < 24 * 365 * 8) return days ? `${years}y${days}d` : `${years}y`;
  return `${years}y`;
}

export function age(timestamp: string | Date | undefined, now: number): string {
  if (!timestamp) return '<unknown>';
  const t = new Date(timestamp).getTime();
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
}

type WithConditions = KubeObject & { status?: { conditions?: Condition[] } };
const conditionsOf = (obj: KubeObject) => (obj as WithConditions).status?.conditions;
const ready = (obj: KubeObject) => getCondition(conditionsOf(obj), 'Ready');
/** The reason that explains the Ready condition: Stalled's when stalled, else Ready's. */
function statusReason(obj: KubeObject): Condition | undefined {
  const stalled = getCondition(conditionsOf(obj), 'Stalled');
  return stalled?.status === 'True' ? stalled : ready(obj);
}

function upstreamOf(spec: PackageVariant['spec']): string {
  const up = spec?.upstream;
  if (up?.oci) return up.oci.image;
  if (up?.git)
    return `${up.git.repo}${up.git.directory ? `//${up.git.directory}` : ''}${up.git.ref ? `@${up.git.ref}` : ''}`;
  if (!up?.repo) return '-';
  const at =
    up.workspaceName !== undefined
      ? `@${up.workspaceName}`
      : up.revision !== undefined && up.revision !== -1
        ? `@v${up.revision}`
        : '';
  return `${up.repo}/${up.package ?? ''}${at}`;
}
const downstreamOf = (spec: PackageVariant['spec']) =>
  spec?.downstream?.repo ? `${spec.downstream.repo}/${spec.downstream.package ?? ''}` : '-';
const short = (commit: string | undefined) => (commit ? commit.slice(0, 12) : '-');
/**
 * Whether the published downstream is behind its upstream (status.upstream): `up to date`,
 * `behind 2 (since 3d)`, `not published`, or `-` before the controller resolved the upstream.
 */
export function updatesOf(pv: PackageVariant, now: number): string {
  const up = pv.status?.upstream;
  if (!up) return '-';
  return `${behindText(up)}${up.behind && up.behindSince ? ` (since ${age(up.behindSince, now)})` : ''}`;
}

type UpstreamStatus = NonNullable<NonNullable<PackageVariant['status']>['upstream']>;
const behindText = (up: UpstreamStatus) =>
  up.behind === undefined ? 'not published' : up.behind === 0 ? 'up to date' : `behind ${up.behind}`;

/** A variant whose published downstream lacks upstream revisions (`pvctl get pvar --outdated`). */
export function isOutdated(pv: PackageVariant): boolean {
  return (pv.status?.upstream?.behind ?? 0) > 0;
}

const revisionText = (r: UpstreamRevisionRef | undefined) => (r ? (r.ref ?? short(r.commit)) : '-');
const conflictsOf = (pv: PackageVariant) =>
  (pv.status?.downstreamTargets ?? []).reduce((n, t) => n + (t.conflicts?.length ?? 0), 0);

interface Column<T> {
  header: string;
  value(obj: T, now: number): string;
  wide?: boolean;
}

const nameColumn: Column<KubeObject> = { header: 'NAME', value: (o) => o.metadata?.name ?? '' };
const ageColumn: Column<KubeObject> = { header: 'AGE', value: (o, now) => age(o.metadata?.creationTimestamp, now) };
const readyColumn: Column<KubeObject> = { header: 'READY', value: (o) => ready(o)?.status ?? 'Unknown' };
const reasonColumn: Column<KubeObject> = { header: 'STATUS', value: (o) => statusReason(o)?.reason ?? '-' };
const suspendedColumn: Column<{ spec?: { suspend?: boolean } }> = {
  header: 'SUSPENDED',
  value: (o) => String(o.spec?.suspend === true),
};
const messageColumn: Column<KubeObject> = {
  header: 'MESSAGE',
  value: (o) => (ready(o)?.status === 'True' ? '' : (statusReason(o)?.message ?? '')),
  wide: true,
};

const COLUMNS: { [K in ResourceKind['kind']]: Column<never>[] } = {
  PackageVariant: [
    nameColumn,
    readyColumn,
    reasonColumn,
    { header: 'UPSTREAM', value: (pv: PackageVariant) => upstreamOf(pv.spec) },
    { header: 'DOWNSTREAM', value: (pv: PackageVariant) => downstreamOf(pv.spec) },
    {
      header: 'LIFECYCLE',
      value: (pv: PackageVariant) => pv.status?.downstreamTargets?.[0]?.lifecycle ?? '-',
    },
    { header: 'CONFLICTS', value: (pv: PackageVariant) => String(conflictsOf(pv)) },
    suspendedColumn,
    { header: 'UPDATES', value: (pv: PackageVariant, now) => updatesOf(pv, now) },
    ageColumn,
    { header: 'REVISION', value: (pv: PackageVariant) => pv.status?.downstreamTargets?.[0]?.name ?? '-', wide: true },
    {
      header: 'UPSTREAM-COMMIT',
      value: (pv: PackageVariant) => short(pv.status?.downstreamTargets?.[0]?.upstreamCommit),
      wide: true,
    },
    { header: 'LATEST', value: (pv: PackageVariant) => revisionText(pv.status?.upstream?.latest), wide: true },
    { header: 'LOCKED', value: (pv: PackageVariant) => revisionText(pv.status?.upstream?.locked), wide: true },
    messageColumn,
  ],
  PackageVariantSet: [
    nameColumn,
    readyColumn,
    reasonColumn,
    { header: 'UPSTREAM', value: (pvs: PackageVariantSet) => upstreamOf(pvs.spec) },
    { header: 'VARIANTS', value: (pvs: PackageVariantSet) => String(pvs.status?.variants?.total ?? 0) },
    { header: 'UP-TO-DATE', value: (pvs: PackageVariantSet) => String(pvs.status?.variants?.upToDate ?? 0) },
    {
      header: 'PENDING',
      value: (pvs: PackageVariantSet) =>
        String((pvs.status?.variants?.draftPending ?? 0) + (pvs.status?.variants?.waiting ?? 0)),
    },
    { header: 'CONFLICTED', value: (pvs: PackageVariantSet) => String(pvs.status?.variants?.conflicted ?? 0) },
    { header: 'FAILED', value: (pvs: PackageVariantSet) => String(pvs.status?.variants?.failed ?? 0) },
    suspendedColumn,
    ageColumn,
    { header: 'STAGE', value: (pvs: PackageVariantSet) => pvs.status?.rollout?.currentStage ?? '-', wide: true },
    messageColumn,
  ],
  Repository: [
    nameColumn,
    { header: 'READY', value: (r: Repository) => ready(r)?.status ?? '-' },
    { header: 'TYPE', value: (r: Repository) => r.spec?.type ?? 'git' },
    { header: 'DEPLOYMENT', value: (r: Repository) => String(r.spec?.deployment === true) },
    { header: 'ADDRESS', value: (r: Repository) => r.spec?.git?.repo ?? r.spec?.oci?.registry ?? '-' },
    ageColumn,
    { header: 'BRANCH', value: (r: Repository) => r.spec?.git?.branch ?? 'main', wide: true },
    { header: 'DIRECTORY', value: (r: Repository) => r.spec?.git?.directory || '/', wide: true },
    {
      header: 'SECRET',
      value: (r: Repository) => (r.spec?.git ?? r.spec?.oci)?.secretRef?.name ?? '-',
      wide: true,
    },
  ],
};

/** kubectl's table: a NAMESPACE column first with -A; `wide` adds the wide columns. */
export function printTable(
  kind: ResourceKind,
  objects: KubeObject[],
  options: { wide: boolean; allNamespaces: boolean; now: number },
): string {
  const columns = (COLUMNS[kind.kind] as Column<KubeObject>[]).filter((c) => options.wide || !c.wide);
  const namespaceColumn: Column<KubeObject> = { header: 'NAMESPACE', value: (o) => o.metadata?.namespace ?? '' };
  return columnsTable(options.allNamespaces ? [namespaceColumn, ...columns] : columns, objects, options.now);
}

function columnsTable<T>(columns: Column<T>[], objects: T[], now: number): string {
  return table([columns.map((c) => c.header), ...objects.map((o) => columns.map((c) => c.value(o, now)))]);
}

/** The variants table in a set's description: the columns of `get pvar` that tell how each one is doing. */
const SET_VARIANT_COLUMNS = (COLUMNS.PackageVariant as Column<PackageVariant>[]).filter((c) =>
  ['NAME', 'READY', 'STATUS', 'DOWNSTREAM', 'LIFECYCLE', 'CONFLICTS', 'SUSPENDED'].includes(c.header),
);

/** An object as `kubectl get -o yaml` shows it: without managedFields. */
export function forOutput<T extends KubeObject>(obj: T): T {
  const meta = obj.metadata as (KubeObject['metadata'] & { managedFields?: unknown }) | undefined;
  if (!meta?.managedFields) return obj;
  const { managedFields: _managedFields, ...metadata } = meta;
  return { ...obj, metadata };
}

/** -o yaml|json|name of a get: one object as itself, several (or a list) as a `kind: List`. */
export function printObjects(
  kind: ResourceKind,
  objects: KubeObject[],
  format: 'yaml' | 'json' | 'name',
  single: boolean,
): string {
  if (format === 'name')
    return objects.map((o) => `${kind.kind.toLowerCase()}.${GROUP}/${o.metadata?.name}`).join('\n');
  const items = objects.map(forOutput);
  if (single && items.length === 1) return serialize(items[0], format);
  return serialize(listOf(items), format);
}

/** Objects as kubectl prints several: a `kind: List`. */
export function listOf(items: unknown[]) {
  return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items };
}

/** A core/v1 Event as far as pvctl reads it. */
export interface EventLike {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string | Date;
  lastTimestamp?: string | Date;
  eventTime?: string | Date;
  metadata?: { creationTimestamp?: string | Date; namespace?: string };
  involvedObject?: { kind?: string; name?: string; namespace?: string; uid?: string };
  source?: { component?: string };
}

export function eventTime(e: EventLike): number {
  const t = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}

/** `kubectl events`: oldest first, LAST SEEN, TYPE, REASON, OBJECT, MESSAGE. */
export function printEvents(events: EventLike[], options: { allNamespaces: boolean; now: number }): string {
  const sorted = [...events].sort((a, b) => eventTime(a) - eventTime(b));
  const header = [...(options.allNamespaces ? ['NAMESPACE'] : []), 'LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'];
  const rows = sorted.map((e) => [
    ...(options.allNamespaces ? [e.metadata?.namespace ?? e.involvedObject?.namespace ?? ''] : []),
    lastSeen(e, options.now),
    e.type ?? '',
    e.reason ?? '',
    `${(e.involvedObject?.kind ?? '').toLowerCase()}/${e.involvedObject?.name ?? ''}`,
    e.message ?? '',
  ]);
  return table([header, ...rows]);
}

function lastSeen(e: EventLike, now: number): string {
  const seen = age(new Date(eventTime(e)), now);
  return (e.count ?? 1) > 1 ? `${seen} (x${e.count})` : seen;
}

// ---- describe -------------------------------------------------------------------------------

class Lines {
  readonly lines: string[] = [];
  field(label: string, value: string | number | boolean | undefined, indent = 0): void {
    const prefix = `${' '.repeat(indent)}${label}:`;
    this.lines.push(
      value === undefined || value === '' ? prefix : `${prefix.padEnd(Math.max(prefix.length + 1, 22))}${value}`,
    );
  }
  block(text: string, indent: number): void {
    for (const line of text.split('\n')) this.lines.push(`${' '.repeat(indent)}${line}`);
  }
  map(label: string, values: Record<string, string> | undefined, indent = 0): void {
    const entries = Object.entries(values ?? {});
    if (!entries.length) return this.field(label, '<none>', indent);
    entries.forEach(([k, v], i) => {
      if (i === 0) this.field(label, `${k}=${v}`, indent);
      else this.lines.push(`${' '.repeat(Math.max(indent + label.length + 2, 22))}${k}=${v}`);
    });
  }
  toString(): string {
    return this.lines.join('\n');
  }
}

function metadataLines(out: Lines, obj: KubeObject, now: number): void {
  out.field('Name', obj.metadata?.name);
  out.field('Namespace', obj.metadata?.namespace);
  out.map('Labels', obj.metadata?.labels);
  out.map('Annotations', obj.metadata?.annotations);
  out.field(
    'Created',
    obj.metadata?.creationTimestamp
      ? `${obj.metadata.creationTimestamp} (${age(obj.metadata.creationTimestamp, now)} ago)`
      : undefined,
  );
  if (obj.metadata?.deletionTimestamp) out.field('Deleting since', obj.metadata.deletionTimestamp);
}

/** The head of the Status section both kinds share: generations, the last request handled, conditions. */
function statusLines(
  out: Lines,
  obj: KubeObject,
  status: { observedGeneration?: number; lastHandledReconcileAt?: string; conditions?: Condition[] },
  now: number,
): void {
  out.field('Status', '');
  out.field(
    'Observed Generation',
    `${status.observedGeneration ?? '-'} (generation ${obj.metadata?.generation ?? '-'})`,
    2,
  );
  if (status.lastHandledReconcileAt) out.field('Last Handled Reconcile', status.lastHandledReconcileAt, 2);
  conditionLines(out, status.conditions, now);
}

function conditionLines(out: Lines, conditions: Condition[] | undefined, now: number): void {
  if (!conditions?.length) return out.field('Conditions', '<none>', 2);
  out.field('Conditions', '', 2);
  out.block(
    table([
      ['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'],
      ...conditions.map((c) => [c.type, c.status, c.reason, age(c.lastTransitionTime, now), c.message]),
    ]),
    4,
  );
}

function eventLines(out: Lines, events: EventLike[], now: number): void {
  if (!events.length) return out.field('Events', '<none>');
  out.field('Events', '');
  const sorted = [...events].sort((a, b) => eventTime(a) - eventTime(b));
  out.block(
    table([
      ['TYPE', 'REASON', 'AGE', 'FROM', 'MESSAGE'],
      ...sorted.map((e) => [
        e.type ?? '',
        e.reason ?? '',
        lastSeen(e, now),
        e.source?.component ?? '',
        e.message ?? '',
      ]),
    ]),
    2,
  );
}

export function describeVariant(pv: PackageVariant, events: EventLike[], now: number): string {
  const out = new Lines();
  metadataLines(out, pv, now);
  const spec = pv.spec ?? {};
  out.field('Suspended', spec.suspend === true);
  out.field(
    'Upstream',
    upstreamOf(spec) +
      (spec.upstream?.git ||
      spec.upstream?.oci ||
      (spec.upstream?.revision !== undefined && spec.upstream.revision !== -1) ||
      spec.upstream?.workspaceName
        ? ''
        : ' (latest published revision)'),
  );
  out.field('Downstream', downstreamOf(spec));
  out.field(
    'Policies',
    `adoption ${spec.adoptionPolicy ?? 'adoptNone'}, deletion ${spec.deletionPolicy ?? 'delete'}, publish ${spec.publishPolicy ?? 'Manual'}`,
  );
  const status = pv.status ?? {};
  statusLines(out, pv, status, now);
  upstreamLines(out, pv, now);
  const targets = status.downstreamTargets ?? [];
  if (!targets.length) out.field('Downstream Targets', '<none>', 2);
  else {
    out.field('Downstream Targets', '', 2);
    out.block(
      table([
        ['NAME', 'LIFECYCLE', 'REF', 'COMMIT', 'UPSTREAM-COMMIT', 'CONFLICTS', 'RENDER'],
        ...targets.map((t) => [
          t.name,
          t.lifecycle ?? '-',
          t.ref ?? '-',
          short(t.commit),
          short(t.upstreamCommit),
          String(t.conflicts?.length ?? 0),
          renderState(t.renderStatus),
        ]),
      ]),
      4,
    );
  }
  const conflicts = targets.flatMap((t) => (t.conflicts ?? []).map((c) => ({ target: t.name, ...c })));
  if (conflicts.length) {
    out.field('Conflicts', '', 2);
    out.block(
      table([
        ['FILE', 'RESOURCE', 'FIELD', 'WINNER', 'ORIGINAL', 'UPDATED', 'LOCAL'],
        ...conflicts.map((c) => [
          c.file,
          c.resource,
          c.field,
          c.winner,
          c.original ?? '-',
          c.updated ?? '-',
          c.local ?? '-',
        ]),
      ]),
      4,
    );
  }
  eventLines(out, events, now);
  return out.toString();
}

/** status.upstream: up to date or behind (since when), the revision followed and the one published. */
function upstreamLines(out: Lines, pv: PackageVariant, now: number): void {
  const up = pv.status?.upstream;
  if (!up) return out.field('Upstream Revisions', '<unknown>', 2);
  const since = up.behindSince ? ` (since ${up.behindSince}, ${age(up.behindSince, now)} ago)` : '';
  out.field('Upstream Revisions', `${behindText(up)}${since}`, 2);
  const revision = (r: UpstreamRevisionRef) => `${r.ref ?? '-'} (${short(r.commit)})`;
  out.field('Latest', `${revision(up.latest)}: the upstream the variant follows`, 4);
  out.field('Locked', up.locked ? `${revision(up.locked)}: in the latest published revision` : '<none>', 4);
}

function renderState(renderStatus: unknown): string {
  if (!renderStatus || typeof renderStatus !== 'object') return '-';
  return (renderStatus as { error?: unknown }).error ? 'failed' : 'ok';
}

function targetLines(out: Lines, pvs: PackageVariantSet): void {
  const targets = pvs.spec?.targets ?? [];
  if (!targets.length) return out.field('Targets', '<none>');
  out.field('Targets', '');
  targets.forEach((t, i) => {
    const parts: string[] = [];
    for (const r of t.repositories ?? [])
      parts.push(`repository ${r.name}${r.packageNames?.length ? ` (${r.packageNames.join(', ')})` : ''}`);
    if (t.repositorySelector) parts.push(`repositories selected by ${selectorText(t.repositorySelector)}`);
    if (t.objectSelector) {
      const { apiVersion, kind, name, ...selector } = t.objectSelector;
      parts.push(`${kind} (${apiVersion})${name ? ` named ${name}` : ''} selected by ${selectorText(selector)}`);
    }
    out.field(`[${i}]`, parts.join('; ') || '<empty>', 2);
  });
}

function selectorText(selector: {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}): string {
  const parts = [
    ...Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(selector.matchExpressions ?? []).map(
      (e) => `${e.key} ${e.operator}${e.values?.length ? ` (${e.values.join(',')})` : ''}`,
    ),
  ];
  return parts.join(',') || '<everything>';
}

export function describeSet(
  pvs: PackageVariantSet,
  variants: PackageVariant[],
  events: EventLike[],
  now: number,
): string {
  const out = new Lines();
  metadataLines(out, pvs, now);
  out.field('Suspended', pvs.spec?.suspend === true);
  out.field('Upstream', upstreamOf(pvs.spec));
  targetLines(out, pvs);
  const rollout = pvs.spec?.rollout;
  if (rollout) {
    const stages = (rollout.stages ?? []).map((s) => s.name).join(' → ');
    out.field(
      'Rollout',
      [
        stages && `stages ${stages}`,
        rollout.maxConcurrent && `maxConcurrent ${rollout.maxConcurrent}`,
        `maxFailures ${rollout.maxFailures ?? 0}`,
        rollout.paused && 'paused',
        rollout.publishPolicy && `publish ${rollout.publishPolicy}`,
      ]
        .filter(Boolean)
        .join(', '),
    );
  }
  const status = pvs.status ?? {};
  statusLines(out, pvs, status, now);
  const v = status.variants;
  if (v) {
    out.field(
      'Variants',
      `${v.total} total: ${v.upToDate} up to date, ${v.waiting} waiting, ${v.draftPending} draft pending, ${v.conflicted} conflicted, ${v.failed} failed`,
      2,
    );
  }
  if (status.rollout) {
    out.field('Rollout', status.rollout.message ?? '', 2);
    if (status.rollout.currentStage) out.field('Current Stage', status.rollout.currentStage, 4);
    if (status.rollout.released?.length) out.field('Released', status.rollout.released.join(', '), 4);
  }
  for (const c of status.collisions ?? []) out.field('Collision', `${c.name}: ${c.targets.join(' and ')}`, 2);
  if (!variants.length) out.field('Generated Variants', '<none>');
  else {
    out.field('Generated Variants', '');
    out.block(columnsTable(SET_VARIANT_COLUMNS, variants, now), 2);
  }
  eventLines(out, events, now);
  return out.toString();
}
