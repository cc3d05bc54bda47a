// Config injection (Porch's "injection points"): package objects annotated
// `kpt.dev/config-injection: required|optional` receive the `data` (core ConfigMap) or `spec` (any other
// kind) of an in-cluster object of the same apiVersion and kind, chosen by the PV's `spec.injectors`.
// The outcome of every point is recorded in the Kptfile's `status.conditions`, and required points
// become `info.readinessGates`. Rewritten files keep their other documents and comments.
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { InjectionSelector, KubeObject } from '../../api/v1alpha1/index.ts';
import { apiGroup } from '../../lib/kpt/identity.ts';
import type { Kptfile } from '../../lib/kpt/kptfile.ts';
import { KPTFILE, type PackageFiles } from '../../lib/kpt/package.ts';
import { isKrmFile, PackageError, parseResourceFile, type ResourceFile } from '../../lib/kpt/resources.ts';
import {
  ensureMap,
  fingerprint,
  fromPlain,
  getField,
  getIn,
  isMap,
  isSeq,
  joinDocuments,
  renderDocument,
  Scalar,
  scalarString,
  setField,
  YAMLSeq,
  type YAMLMap,
  type YNode,
} from '../../lib/kpt/yaml.ts';
import { MutationError } from './mutation-error.ts';

export const CONFIG_INJECTION_ANNOTATION = 'kpt.dev/config-injection';
export const INJECTED_RESOURCE_ANNOTATION = 'kpt.dev/injected-resource';
export const CONDITION_INJECTED = 'ConfigInjected';
export const CONDITION_NOT_INJECTED = 'NoResourceSelected';
const NOT_MATCHED = 'no resource matched any injection selector for this injection point';

/** Objects of one apiVersion and kind in the PackageVariant's namespace; rejects on a list error. */
export interface InjectionLookup {
  list(apiVersion: string, kind: string): Promise<KubeObject[]>;
}

/** An object of the package that asks for injection. */
export interface InjectionPoint {
  file: string;
  /** Index of the document in its file. */
  document: number;
  apiVersion: string;
  kind: string;
  name: string;
  required: boolean;
  /** `config.injection.<Kind>.<name>` */
  conditionType: string;
  /** Problems that make the package invalid (bad annotation value, missing kind or name). */
  errors: string[];
}

/** What happened to one injection point. */
export interface InjectionOutcome {
  file: string;
  conditionType: string;
  required: boolean;
  injected: boolean;
  /** Name of the in-cluster object injected. */
  injectedName?: string;
  /** Why nothing was injected (no injectors, no objects, missing field, a list error). */
  errors: string[];
}

/** The files kpt reads as KRM for injection: `*.yaml`, `*.yml`, `*.json` and Kptfiles. */
export function isInjectionCandidate(path: string): boolean {
  return isKrmFile(path) || /\.json$/i.test(path);
}

export interface FoundInjectionPoints {
  points: InjectionPoint[];
  /** Files that could not be parsed, as `<file>: <problem>`. */
  errors: string[];
}

interface FileScan {
  points: readonly InjectionPoint[];
  error?: string;
}

/**
 * What a file holds is a function of its path and bytes, and most files are the same across a fleet
 * of variants: scanning each distinct file once keeps a reconcile from parsing the whole package.
 */
const scans = new Map<string, FileScan>();
const MAX_SCANS = 5_000;

function scanFile(path: string, content: Buffer): FileScan {
  const key = `${path}\0${createHash('sha1').update(content).digest('hex')}`;
  const known = scans.get(key);
  if (known) return known;
  let scan: FileScan;
  try {
    // Not UTF-8: an opaque file, neither scanned nor edited (decoding would change its bytes).
    if (!isUtf8(content)) return { points: [] };
    const file = parseResourceFile(path, content.toString('utf8'), { requireKind: false });
    const points = file.resources
      .map((resource) => injectionPoint(path, resource.index, resource.doc.contents))
      .filter((point) => point !== undefined);
    scan = { points };
  } catch (e) {
    if (!(e instanceof PackageError)) throw e;
    scan = { points: [], error: e.message };
  }
  if (scans.size >= MAX_SCANS) scans.delete(scans.keys().next().value!);
  scans.set(key, scan);
  return scan;
}

/**
 * Whether a file's bytes can declare an injection point. The annotation's key must be spelled out in
 * the file unless it is written with escapes (YAML's double-quoted or JSON strings), which need a
 * backslash; anchors and aliases repeat text that is in the file too.
 */
export function mayHoldInjectionPoint(content: Buffer): boolean {
  return content.includes(CONFIG_INJECTION_ANNOTATION) || content.includes('\\');
}

/**
 * The injection points of `files`, from the files that may hold one; files that do not parse are
 * passed over. For looking ahead (which kinds to list) without parsing every file of a package.
 */
export function likelyInjectionPoints(files: PackageFiles): InjectionPoint[] {
  const candidates = new Map([...files].filter(([, content]) => mayHoldInjectionPoint(content)));
  return findInjectionPoints(candidates).points;
}

export function findInjectionPoints(files: PackageFiles): FoundInjectionPoints {
  const points: InjectionPoint[] = [];
  const errors: string[] = [];
  for (const [path, content] of files) {
    if (!isInjectionCandidate(path)) continue;
    const scan = scanFile(path, content);
    if (scan.error) errors.push(scan.error);
    points.push(...scan.points.map((point) => ({ ...point, errors: [...point.errors] })));
  }
  return { points, errors };
}

function injectionPoint(file: string, document: number, object: unknown): InjectionPoint | undefined {
  const value = scalarString(getIn(object, ['metadata', 'annotations', CONFIG_INJECTION_ANNOTATION]));
  if (value === undefined) return undefined;
  const kind = scalarString(getField(object, 'kind')) ?? '';
  const name = scalarString(getIn(object, ['metadata', 'name'])) ?? '';
  const errors: string[] = [];
  if (value !== 'required' && value !== 'optional') {
    errors.push(`${file}: ${kind}/${name} has invalid "${CONFIG_INJECTION_ANNOTATION}" annotation value of "${value}"`);
  }
  if (!kind || !name) errors.push(`${file}: an injection point needs a kind and a metadata.name`);
  return {
    file,
    document,
    apiVersion: scalarString(getField(object, 'apiVersion')) ?? '',
    kind,
    name,
    required: value === 'required',
    conditionType: `config.injection.${kind}.${name}`,
    errors,
  };
}

/** Throws `errors in injection points: …` for parse errors, bad points and duplicate condition types. */
export function validateInjectionPoints(points: InjectionPoint[], parseErrors: string[] = []): void {
  const errors = [...parseErrors, ...points.flatMap((p) => p.errors)];
  const last = new Map<string, InjectionPoint>();
  for (const point of points) {
    const previous = last.get(point.conditionType);
    if (previous) {
      errors.push(`duplicate injection conditionType "${point.conditionType}" (${previous.file} and ${point.file})`);
    }
    last.set(point.conditionType, point);
  }
  if (errors.length) throw new MutationError(`errors in injection points: ${errors.join(', ')}`);
}

/** The field injection replaces: `data` for a core ConfigMap, `spec` for anything else. */
export function injectedField(apiVersion: string, kind: string): 'data' | 'spec' {
  return apiGroup(apiVersion) === '' && kind === 'ConfigMap' ? 'data' : 'spec';
}

function versionOf(apiVersion: string): string {
  return apiVersion.slice(apiVersion.indexOf('/') + 1);
}

function selects(injector: InjectionSelector, point: InjectionPoint): boolean {
  // an unset filter matches anything; a set one (even "") must be equal, as Porch's pointers do
  if (injector.group !== undefined && injector.group !== apiGroup(point.apiVersion)) return false;
  if (injector.version !== undefined && injector.version !== versionOf(point.apiVersion)) return false;
  if (injector.kind !== undefined && injector.kind !== point.kind) return false;
  return true;
}

type Choice = { object: KubeObject; name: string } | { error: string } | undefined;

async function choose(
  point: InjectionPoint,
  injectors: readonly InjectionSelector[],
  list: (apiVersion: string, kind: string) => Promise<KubeObject[]>,
): Promise<Choice> {
  if (injectors.length === 0) return { error: 'no injectors defined' };
  let objects: KubeObject[];
  try {
    objects = await list(point.apiVersion, point.kind);
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
  if (objects.length === 0) return { error: `no in-cluster resources of type ${point.apiVersion}.${point.kind}` };
  for (const injector of injectors) {
    if (!selects(injector, point)) continue;
    const object = objects.find((o) => o.metadata?.name === injector.name);
    if (object) return { object, name: injector.name };
  }
  return undefined;
}

/** Sets `field` and the injected-resource annotation; returns whether the document changed. */
function inject(target: YAMLMap, field: 'data' | 'spec', value: unknown, name: string): boolean {
  let changed = false;
  const replacement = fromPlain(value);
  // an equal value keeps its node, so comments survive and a re-run changes nothing
  if (fingerprint(getField(target, field), false) !== fingerprint(replacement, false)) {
    setField(target, field, replacement);
    changed = true;
  }
  if (scalarString(getIn(target, ['metadata', 'annotations', INJECTED_RESOURCE_ANNOTATION])) !== name) {
    setField(ensureMap(target, ['metadata', 'annotations']), INJECTED_RESOURCE_ANNOTATION, new Scalar(name));
    changed = true;
  }
  return changed;
}

function isKptfilePath(path: string): boolean {
  return path === KPTFILE || path.endsWith(`/${KPTFILE}`);
}

export interface ConfigInjectionResult {
  files: PackageFiles;
  outcomes: InjectionOutcome[];
}

/**
 * Finds, validates and resolves the injection points of `files` and injects what the injectors
 * select. The root Kptfile is read from `kptfile` (the caller's current edit of it) and receives the
 * conditions and readiness gates; the returned files do not contain it updated — the caller writes it.
 */
export async function injectConfig(
  files: PackageFiles,
  kptfile: Kptfile,
  injectors: readonly InjectionSelector[],
  lookup: InjectionLookup,
): Promise<ConfigInjectionResult> {
  const scanned = new Map(files);
  const kptfileBytes = Buffer.from(kptfile.toString(), 'utf8');
  scanned.set(KPTFILE, kptfileBytes);
  // The Kptfile was just written from its parse, so it parses; it is read only if it may hold a point.
  const { points, errors } = findInjectionPoints(
    mayHoldInjectionPoint(kptfileBytes) ? scanned : new Map([...files].filter(([path]) => path !== KPTFILE)),
  );
  validateInjectionPoints(points, errors);
  // Only the files that hold injection points are parsed for editing.
  const parsed = new Map<string, ResourceFile>();
  const parse = (path: string) => {
    let file = parsed.get(path);
    if (!file)
      parsed.set(path, (file = parseResourceFile(path, scanned.get(path)!.toString('utf8'), { requireKind: false })));
    return file;
  };

  const lists = new Map<string, Promise<KubeObject[]>>();
  const list = (apiVersion: string, kind: string) => {
    const key = `${apiVersion}\n${kind}`;
    let result = lists.get(key);
    if (!result) {
      result = lookup.list(apiVersion, kind);
      lists.set(key, result);
    }
    return result;
  };

  const outcomes: InjectionOutcome[] = [];
  const changedDocuments = new Map<string, Set<number>>();
  for (const point of points) {
    const outcome: InjectionOutcome = {
      file: point.file,
      conditionType: point.conditionType,
      required: point.required,
      injected: false,
      errors: [],
    };
    outcomes.push(outcome);
    const choice = await choose(point, injectors, list);
    if (!choice) continue;
    if ('error' in choice) {
      outcome.errors.push(choice.error);
      continue;
    }
    const field = injectedField(point.apiVersion, point.kind);
    if (choice.object[field] === undefined) {
      outcome.errors.push(`field "${field}" not found in resource "${choice.name}"`);
      continue;
    }
    if (isKptfilePath(point.file)) {
      outcome.errors.push(`cannot inject "${field}" into a Kptfile`);
      continue;
    }
    const document = parse(point.file).documents.find((d) => d.index === point.document);
    if (!document || !isMap(document.doc.contents)) continue;
    outcome.injected = true;
    outcome.injectedName = choice.name;
    if (inject(document.doc.contents, field, choice.object[field], choice.name)) {
      const set = changedDocuments.get(point.file) ?? new Set<number>();
      set.add(point.document);
      changedDocuments.set(point.file, set);
    }
  }

  const out = new Map(files);
  for (const [path, indexes] of changedDocuments) {
    const file = parsed.get(path);
    if (file) out.set(path, Buffer.from(renderFile(file, indexes), 'utf8'));
  }
  setInjectionConditionsAndGates(kptfile, outcomes);
  return { files: out, outcomes };
}

function renderFile(file: ResourceFile, changed: Set<number>): string {
  if (/\.json$/i.test(file.path) && file.resources.length === 1) {
    // a JSON file stays JSON (the YAML renderer would write new values in block style)
    return `${JSON.stringify(file.resources[0]!.doc.toJS(), null, 2)}\n`;
  }
  return joinDocuments(file.documents.map((d) => (changed.has(d.index) ? renderDocument(d) : d.raw)));
}

function byType(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Upserts one condition per outcome into `status.conditions` (sorted by type) and adds the condition
 * types of required points to `info.readinessGates` (existing gates kept; de-duplicated, sorted).
 * Nothing is touched when there are no outcomes.
 */
export function setInjectionConditionsAndGates(kptfile: Kptfile, outcomes: readonly InjectionOutcome[]): void {
  if (outcomes.length === 0) return;
  const status = kptfile.section('status');
  let conditions = getField(status, 'conditions');
  if (!isSeq(conditions)) {
    conditions = new YAMLSeq();
    setField(status, 'conditions', conditions);
  }
  const items = (conditions as YAMLSeq<YNode>).items;
  for (const outcome of outcomes) {
    const wanted = fromPlain(
      outcome.injected
        ? {
            type: outcome.conditionType,
            status: 'True',
            reason: CONDITION_INJECTED,
            message: `injected resource "${outcome.injectedName}" from cluster`,
          }
        : {
            type: outcome.conditionType,
            status: 'False',
            reason: CONDITION_NOT_INJECTED,
            message: outcome.errors.length ? outcome.errors.join(', ') : NOT_MATCHED,
          },
    );
    const i = items.findIndex((item) => scalarString(getField(item, 'type')) === outcome.conditionType);
    if (i === -1) items.push(wanted);
    else if (fingerprint(items[i], false) !== fingerprint(wanted, false)) items[i] = wanted;
  }
  sortStable(items, (item) => scalarString(getField(item, 'type')) ?? '');

  const required = outcomes.filter((o) => o.required).map((o) => o.conditionType);
  const info = getField(kptfile.contents, 'info');
  const existingGates = getField(info, 'readinessGates');
  if (!required.length && !isSeq(existingGates)) return;
  const gates = isSeq(existingGates) ? (existingGates as YAMLSeq<YNode>) : new YAMLSeq<YNode>();
  if (!isSeq(existingGates)) setField(kptfile.section('info'), 'readinessGates', gates);
  const seen = new Set<string>();
  gates.items = gates.items.filter((gate) => {
    const type = scalarString(getField(gate, 'conditionType'));
    if (type === undefined) return true;
    if (seen.has(type)) return false;
    seen.add(type);
    return true;
  });
  for (const type of required) {
    if (!seen.has(type)) gates.items.push(fromPlain({ conditionType: type }));
    seen.add(type);
  }
  sortStable(gates.items, (gate) => scalarString(getField(gate, 'conditionType')) ?? '');
}

function sortStable<T>(items: T[], key: (item: T) => string): void {
  const sorted = items.map((item, i) => ({ item, i, k: key(item) })).sort((a, b) => byType(a.k, b.k) || a.i - b.i);
  sorted.forEach((s, i) => (items[i] = s.item));
}
