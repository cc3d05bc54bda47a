// The Kptfile (`kpt.dev/v1`): strict parsing (unknown fields and old versions are errors, as kpt's
// decoder reports them) on top of a comment-preserving YAML document, plus typed access to
// `upstream` and `upstreamLock` written the way kpt writes them.
import { isUtf8 } from 'node:buffer';
import { isDeepStrictEqual } from 'node:util';
import { contentKey } from './parse-handoff.ts';
import {
  Document,
  ensureMap,
  getField,
  getPair,
  isMap,
  isScalar,
  isSeq,
  keyString,
  Pair,
  parseDocuments,
  renderDocument,
  Scalar,
  scalarString,
  setField,
  YamlSyntaxError,
  YAMLMap,
  type SourceDocument,
  type YNode,
} from './yaml.ts';

export const KPTFILE_API_VERSION = 'kpt.dev/v1';
export const KPTFILE_KIND = 'Kptfile';
const DEPRECATED_VERSIONS = ['v1alpha1', 'v1alpha2'];

export const UPDATE_STRATEGIES = ['resource-merge', 'fast-forward', 'force-delete-replace', 'copy-merge'] as const;
export type UpdateStrategy = (typeof UPDATE_STRATEGIES)[number];

export interface GitRef {
  repo: string;
  directory: string;
  ref: string;
}

/** `upstream`: what the package tracks. */
export interface Upstream {
  type: 'git';
  git: GitRef;
  updateStrategy?: UpdateStrategy;
}

/** `upstreamLock`: where the last fetch/update came from (the fork point). */
export interface UpstreamLock {
  type: 'git';
  git: GitRef & { commit: string };
}

/** A Kptfile problem; `file` names the file and `field` the offending field path when known. */
export class KptfileError extends Error {
  readonly file: string;
  readonly field: string | undefined;
  constructor(file: string, message: string, field?: string) {
    super(`${file}: ${message}`);
    this.name = 'KptfileError';
    this.file = file;
    this.field = field;
  }
}

// ---------------------------------------------------------------------------------------------
// Strict schema (kpt HEAD types)

type FieldType = 'string' | 'int' | 'bool' | 'any' | { map: 'string' } | { list: FieldType } | StructType;
interface StructType {
  type: string;
  fields: Record<string, FieldType>;
}

const stringMap = { map: 'string' } as const;
const selector: StructType = {
  type: 'v1.Selector',
  fields: {
    apiVersion: 'string',
    kind: 'string',
    name: 'string',
    namespace: 'string',
    labels: stringMap,
    annotations: stringMap,
  },
};
const fn: StructType = {
  type: 'v1.Function',
  fields: {
    image: 'string',
    exec: 'string',
    configPath: 'string',
    configMap: stringMap,
    name: 'string',
    tag: 'string',
    selectors: { list: selector },
    exclude: { list: selector },
  },
};
const git: StructType = { type: 'v1.Git', fields: { repo: 'string', directory: 'string', ref: 'string' } };
const gitLock: StructType = { type: 'v1.GitLock', fields: { ...git.fields, commit: 'string' } };
const step: StructType = {
  type: 'v1.PipelineStepResult',
  fields: {
    name: 'string',
    image: 'string',
    exec: 'string',
    executionError: 'string',
    stderr: 'string',
    exitCode: 'int',
    results: 'any',
    errorResults: 'any',
  },
};
const KPTFILE_SCHEMA: StructType = {
  type: 'v1.KptFile',
  fields: {
    apiVersion: 'string',
    kind: 'string',
    metadata: {
      type: 'v1.ObjectMeta',
      fields: { name: 'string', namespace: 'string', labels: stringMap, annotations: stringMap },
    },
    upstream: { type: 'v1.Upstream', fields: { type: 'string', git, updateStrategy: 'string' } },
    upstreamLock: {
      type: 'v1.Locator',
      fields: {
        type: 'string',
        git: gitLock,
        generic: {
          type: 'v1.GenericLock',
          fields: { storeID: 'string', resourceID: 'string', resourceVersion: 'string' },
        },
      },
    },
    info: {
      type: 'v1.PackageInfo',
      fields: {
        site: 'string',
        emails: { list: 'string' },
        license: 'string',
        licenseFile: 'string',
        description: 'string',
        keywords: { list: 'string' },
        man: 'string',
        readinessGates: { list: { type: 'v1.ReadinessGate', fields: { conditionType: 'string' } } },
      },
    },
    pipeline: { type: 'v1.Pipeline', fields: { mutators: { list: fn }, validators: { list: fn } } },
    inventory: {
      type: 'v1.Inventory',
      fields: {
        namespace: 'string',
        name: 'string',
        inventoryID: 'string',
        labels: stringMap,
        annotations: stringMap,
      },
    },
    status: {
      type: 'v1.Status',
      fields: {
        conditions: {
          list: {
            type: 'v1.Condition',
            fields: { type: 'string', status: 'string', reason: 'string', message: 'string' },
          },
        },
        renderStatus: {
          type: 'v1.RenderStatus',
          fields: { mutationSteps: { list: step }, validationSteps: { list: step }, errorSummary: 'string' },
        },
      },
    },
  },
};

function validate(node: unknown, type: FieldType, path: string, file: string): void {
  if (node === undefined || node === null || (isScalar(node) && node.value === null)) return;
  const at = path || '<root>';
  if (type === 'any') return;
  if (type === 'string' || type === 'int' || type === 'bool') {
    if (!isScalar(node)) throw new KptfileError(file, `field ${at}: expected a ${type}, found a collection`, path);
    if (type === 'int' && typeof node.value !== 'number') {
      throw new KptfileError(file, `field ${at}: expected an integer`, path);
    }
    return;
  }
  if ('list' in type) {
    if (!isSeq(node)) throw new KptfileError(file, `field ${at}: expected a list`, path);
    node.items.forEach((item, i) => validate(item, type.list, `${path}[${i}]`, file));
    return;
  }
  if ('map' in type) {
    if (!isMap(node)) throw new KptfileError(file, `field ${at}: expected a map`, path);
    for (const pair of node.items) {
      if (isMap(pair.value) || isSeq(pair.value)) {
        throw new KptfileError(file, `field ${path}.${keyString(pair.key)}: expected a string`, path);
      }
    }
    return;
  }
  if (!isMap(node)) throw new KptfileError(file, `field ${at}: expected a map (${type.type})`, path);
  for (const pair of node.items) {
    const key = keyString(pair.key);
    const fieldPath = path ? `${path}.${key}` : key;
    const fieldType = type.fields[key];
    if (!fieldType) {
      throw new KptfileError(
        file,
        `unknown field "${fieldPath}" (field ${key} not found in type ${type.type})`,
        fieldPath,
      );
    }
    validate(pair.value, fieldType, fieldPath, file);
  }
}

/** Checks `apiVersion`/`kind` and every field against the kpt.dev/v1 schema; throws {@link KptfileError}. */
export function validateKptfile(contents: unknown, file = 'Kptfile'): void {
  if (!isMap(contents)) throw new KptfileError(file, 'a Kptfile must be a YAML map');
  const apiVersion = scalarString(getField(contents, 'apiVersion')) ?? '';
  const kind = scalarString(getField(contents, 'kind')) ?? '';
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
  if (group === 'kpt.dev' && kind === KPTFILE_KIND && version && DEPRECATED_VERSIONS.includes(version)) {
    throw new KptfileError(file, `old resource version "${version}" found in Kptfile`, 'apiVersion');
  }
  if (apiVersion !== KPTFILE_API_VERSION || kind !== KPTFILE_KIND) {
    const gvk = `${group ? `${group}/` : ''}${version ?? ''}, Kind=${kind}`;
    throw new KptfileError(file, `unknown resource type "${gvk}" found in Kptfile`, 'apiVersion');
  }
  validate(contents, KPTFILE_SCHEMA, '', file);
}

// ---------------------------------------------------------------------------------------------
// The Kptfile document

/** Order of the top-level sections when kpt writes a Kptfile; new sections are inserted by it. */
const SECTION_ORDER = [
  'apiVersion',
  'kind',
  'metadata',
  'upstream',
  'upstreamLock',
  'info',
  'pipeline',
  'inventory',
  'status',
];

/** A parsed, validated Kptfile. Edits keep the comments and layout of everything else. */
export class Kptfile {
  readonly source: SourceDocument;
  readonly file: string;

  private constructor(source: SourceDocument, file: string) {
    this.source = source;
    this.file = file;
  }

  /** Parses and validates; throws {@link KptfileError} naming the file (also for bytes that are not UTF-8). */
  static parse(text: string | Buffer, file = 'Kptfile'): Kptfile {
    if (typeof text !== 'string' && !isUtf8(text)) throw new KptfileError(file, 'is not valid UTF-8 text');
    let documents: SourceDocument[];
    try {
      documents = parseDocuments(typeof text === 'string' ? text : text.toString('utf8'));
    } catch (e) {
      if (e instanceof YamlSyntaxError) {
        throw new KptfileError(file, `invalid YAML${e.line ? ` at line ${e.line}` : ''}: ${e.message}`);
      }
      throw e;
    }
    const nonEmpty = documents.filter((d) => d.doc.contents !== null);
    if (nonEmpty.length !== 1) {
      throw new KptfileError(file, `expected exactly one document, found ${nonEmpty.length}`);
    }
    const source = nonEmpty[0]!;
    validateKptfile(source.doc.contents, file);
    return new Kptfile(source, file);
  }

  /** A minimal Kptfile as `kpt pkg get` starts it. */
  static create(name: string, options: { localConfig?: boolean } = {}): Kptfile {
    const metadata: Record<string, unknown> = { name };
    if (options.localConfig ?? true) metadata.annotations = { 'config.kubernetes.io/local-config': 'true' };
    const text = new Document({ apiVersion: KPTFILE_API_VERSION, kind: KPTFILE_KIND, metadata }).toString();
    return Kptfile.parse(text);
  }

  get contents(): YAMLMap {
    return this.source.doc.contents as YAMLMap;
  }

  get name(): string | undefined {
    return scalarString(getField(getField(this.contents, 'metadata'), 'name'));
  }

  get upstream(): Upstream | undefined {
    const node = getField(this.contents, 'upstream');
    if (!isMap(node)) return undefined;
    const strategy = scalarString(getField(node, 'updateStrategy'));
    return {
      type: 'git',
      git: readGit(getField(node, 'git')),
      ...(strategy ? { updateStrategy: strategy as UpdateStrategy } : {}),
    };
  }

  set upstream(value: Upstream | undefined) {
    if (!value) {
      removeSection(this.contents, 'upstream');
      return;
    }
    const node = this.section('upstream');
    setField(node, 'type', new Scalar(value.type));
    writeGit(ensureMap(node, ['git']), value.git);
    if (value.updateStrategy) setField(node, 'updateStrategy', new Scalar(value.updateStrategy));
  }

  get upstreamLock(): UpstreamLock | undefined {
    const node = getField(this.contents, 'upstreamLock');
    if (!isMap(node)) return undefined;
    const gitNode = getField(node, 'git');
    return { type: 'git', git: { ...readGit(gitNode), commit: scalarString(getField(gitNode, 'commit')) ?? '' } };
  }

  set upstreamLock(value: UpstreamLock | undefined) {
    if (!value) {
      removeSection(this.contents, 'upstreamLock');
      return;
    }
    const node = this.section('upstreamLock');
    setField(node, 'type', new Scalar(value.type));
    const gitNode = ensureMap(node, ['git']);
    writeGit(gitNode, value.git);
    setField(gitNode, 'commit', new Scalar(value.git.commit));
  }

  /** The YAML text; unchanged parts keep their comments and formatting. */
  toString(): string {
    return renderDocument(this.source);
  }

  /** Plain JS object of the Kptfile. */
  toJSON(): Record<string, unknown> {
    return this.source.doc.toJS() as Record<string, unknown>;
  }

  /** The map of a top-level section, created in kpt's section order when absent. */
  section(name: string): YAMLMap {
    const existing = getField(this.contents, name);
    if (isMap(existing)) return existing;
    const created = new YAMLMap();
    insertSection(this.contents, name, created);
    return created;
  }
}

/** Whether some Kptfile of a package declares a pipeline (so that it is rendered after a write). */
export function declaresPipeline(files: ReadonlyMap<string, Buffer>): boolean {
  for (const [path, content] of files) {
    if ((path === 'Kptfile' || path.endsWith('/Kptfile')) && /^pipeline:/m.test(content.toString('latin1')))
      return true;
  }
  return false;
}

/** What a caller that only reads a Kptfile uses of it. */
export type KptfileView = Readonly<Pick<Kptfile, 'contents' | 'name' | 'upstream' | 'upstreamLock' | 'toJSON'>>;

// A reconcile reads the same Kptfile bytes several times (the lock, the merge's check, the render,
// the compare with the downstream), so read-only parses are shared by content. A pass interleaves
// the reconciles of its whole fleet, so some reads of one Kptfile lie a fleet apart and miss; the
// cache stays small (a parsed 40-line Kptfile is about 18 KiB). Only parses that succeed are kept;
// an error is reported again, with the caller's file name, on every read.
const READ_LIMIT = 256;
const views = new Map<string, Kptfile>();

/** A parsed, validated Kptfile shared by every reader of the same bytes: never change it (use {@link Kptfile.parse} to edit). */
export function readKptfile(content: Buffer, file = 'Kptfile'): KptfileView {
  const key = contentKey(content);
  const known = views.get(key);
  if (known) {
    views.delete(key);
    views.set(key, known);
    return known;
  }
  const kptfile = Kptfile.parse(content, file);
  shareKptfile(content, kptfile);
  return kptfile;
}

/**
 * Makes `kptfile` the shared read-only parse of `content` (see {@link readKptfile}): for a caller that
 * parsed those bytes to edit them, changed nothing (its text is `content` byte for byte) and is done with it.
 */
export function shareKptfile(content: Buffer, kptfile: Kptfile): void {
  const key = contentKey(content);
  views.delete(key);
  views.set(key, kptfile);
  if (views.size > READ_LIMIT) views.delete(views.keys().next().value!);
  if (valid.size >= VALID_LIMIT) valid.delete(valid.values().next().value!);
  valid.add(key);
}

// The contents of every Kptfile read, by key, long after its parse is gone: a reconcile reads its
// downstream's Kptfile when it observes it and the merge checks the same bytes a fleet later.
const VALID_LIMIT = 20_000;
const valid = new Set<string>();

/** Whether these bytes were read as a valid Kptfile (by {@link readKptfile}) not long ago. */
export function isKnownValidKptfile(content: Buffer): boolean {
  return valid.has(contentKey(content));
}

/** Parses and validates a Kptfile (see {@link Kptfile.parse}). */
export function parseKptfile(text: string | Buffer, file = 'Kptfile'): Kptfile {
  return Kptfile.parse(text, file);
}

/** Inserts or replaces a top-level section, placing new sections in kpt's struct order. */
export function insertSection(root: YAMLMap, name: string, value: YNode): void {
  const pair = getPair(root, name);
  if (pair) {
    pair.value = value;
    return;
  }
  const rank = SECTION_ORDER.indexOf(name);
  let at = root.items.length;
  if (rank !== -1) {
    const next = root.items.findIndex((p) => SECTION_ORDER.indexOf(keyString(p.key)) > rank);
    if (next !== -1) at = next;
  }
  root.items.splice(at, 0, new Pair(new Scalar(name), value));
}

export function removeSection(root: YAMLMap, name: string): void {
  const i = root.items.findIndex((p) => keyString(p.key) === name);
  if (i !== -1) root.items.splice(i, 1);
}

function readGit(node: unknown): GitRef {
  return {
    repo: scalarString(getField(node, 'repo')) ?? '',
    directory: scalarString(getField(node, 'directory')) ?? '',
    ref: scalarString(getField(node, 'ref')) ?? '',
  };
}

function writeGit(node: YAMLMap, value: GitRef): void {
  setField(node, 'repo', new Scalar(value.repo));
  setField(node, 'directory', new Scalar(value.directory));
  setField(node, 'ref', new Scalar(value.ref));
}

// ---------------------------------------------------------------------------------------------
// Pipeline functions declared by a PackageVariant

/** A pipeline function as declared in a Kptfile (or in a PackageVariant's `spec.pipeline`). */
export interface KptFunction {
  name?: string;
  image?: string;
  exec?: string;
  tag?: string;
  configPath?: string;
  configMap?: Record<string, string>;
  selectors?: Array<Record<string, unknown>>;
  exclude?: Array<Record<string, unknown>>;
}

/** Name Porch gives a function injected by a PackageVariant: `PackageVariant.<pv>.<fn>.<index>`. */
export function packageVariantFunctionName(packageVariant: string, functionName: string, index: number): string {
  return `PackageVariant.${packageVariant}.${functionName}.${index}`;
}

/**
 * Whether a function name was generated for `packageVariant`: `PackageVariant.<pv>.<fn>.<integer>`
 * with a dot-free `<fn>`. Matching the prefix (not splitting on dots) keeps PV names with dots, which
 * Kubernetes allows, unambiguous.
 */
export function isPackageVariantFunction(name: string | undefined, packageVariant: string): boolean {
  if (!name) return false;
  const start = `PackageVariant.${packageVariant}.`;
  return name.startsWith(start) && /^[^.]*\.[+-]?\d+$/.test(name.slice(start.length));
}

/**
 * Makes the Kptfile's pipeline hold exactly `functions` for the PackageVariant `packageVariant`
 * (as Porch's PackageVariant controller does): earlier functions of that PackageVariant (see
 * {@link isPackageVariantFunction}) are removed, the new ones are named
 * `PackageVariant.<pv>.<fn.name>.<index>` and placed before all other functions. Other functions
 * keep their position, comments and formatting. Returns whether the Kptfile changed.
 */
export function setPackageVariantFunctions(
  kptfile: Kptfile,
  packageVariant: string,
  functions: { mutators?: KptFunction[]; validators?: KptFunction[] },
): boolean {
  let changed = false;
  for (const listName of ['mutators', 'validators'] as const) {
    const wanted = (functions[listName] ?? []).map((fn, index) => ({
      ...fn,
      name: packageVariantFunctionName(packageVariant, fn.name ?? '', index),
    }));
    const pipeline = getField(kptfile.contents, 'pipeline');
    const existing = getField(pipeline, listName);
    const items = isSeq(existing) ? existing.items : [];
    const kept = items.filter(
      (item) => !isPackageVariantFunction(scalarString(getField(item, 'name')), packageVariant),
    );
    const ours = items.filter((item) => isPackageVariantFunction(scalarString(getField(item, 'name')), packageVariant));
    const same =
      ours.length === wanted.length &&
      ours.every((item, i) => isDeepStrictEqual(toPlainValue(item), wanted[i])) &&
      items.slice(0, ours.length).every((item, i) => item === ours[i]);
    if (same) continue;
    changed = true;
    const created = wanted.map((fn) => new Document(fn).contents as YNode);
    if (isSeq(existing)) {
      const firstKept = kept[0] as { commentBefore?: string | null } | undefined;
      if (created.length && firstKept && existing.commentBefore && items[0] === kept[0]) {
        // the comment above the list belongs to its first function, which no longer comes first
        firstKept.commentBefore = existing.commentBefore;
        existing.commentBefore = undefined;
      }
      existing.items = [...created, ...kept];
      if (existing.items.length === 0) deleteList(kptfile, listName);
    } else if (created.length) {
      const list = new Document([]).contents as YNode & { items: unknown[] };
      list.items = created;
      setField(kptfile.section('pipeline'), listName, list);
    }
  }
  return changed;
}

function deleteList(kptfile: Kptfile, listName: string): void {
  const pipeline = getField(kptfile.contents, 'pipeline');
  if (!isMap(pipeline)) return;
  const i = pipeline.items.findIndex((p) => keyString(p.key) === listName);
  if (i !== -1) pipeline.items.splice(i, 1);
  if (pipeline.items.length === 0) removeSection(kptfile.contents, 'pipeline');
}

function toPlainValue(node: unknown): unknown {
  return (node as { toJSON?: () => unknown }).toJSON?.() ?? node;
}
