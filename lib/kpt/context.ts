// The package context: `package-context.yaml`, a ConfigMap named `kptfile.kpt.dev` next to the root
// Kptfile (kpt §5). Read it, set and remove data keys (the reserved keys `name` and `package-path`
// are managed by the generator only), and generate a fresh one as kpt/Porch do.
import type { PackageFiles } from './package.ts';
import { PackageError, parseResourceFile, yamlText } from './resources.ts';
import {
  deleteField,
  Document,
  ensureMap,
  getField,
  getIn,
  isMap,
  joinDocuments,
  keyString,
  renderDocument,
  Scalar,
  scalarString,
  setField,
  type YAMLMap,
} from './yaml.ts';

export const PACKAGE_CONTEXT_FILE = 'package-context.yaml';
export const PACKAGE_CONTEXT_NAME = 'kptfile.kpt.dev';
export const RESERVED_CONTEXT_KEYS = ['name', 'package-path'] as const;

/** Text of a package context ConfigMap for a package (`packagePath` only when Porch would set it). */
export function generatePackageContext(name: string, packagePath?: string): string {
  const data: Record<string, string> = { name };
  if (packagePath) data['package-path'] = packagePath;
  return new Document({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: PACKAGE_CONTEXT_NAME, annotations: { 'config.kubernetes.io/local-config': 'true' } },
    data,
  }).toString();
}

function findContext(files: PackageFiles) {
  const content = files.get(PACKAGE_CONTEXT_FILE);
  if (!content) return undefined;
  const file = parseResourceFile(PACKAGE_CONTEXT_FILE, yamlText(PACKAGE_CONTEXT_FILE, content), {
    requireKind: false,
  });
  const resource = file.resources.find(
    (r) =>
      scalarString(getField(r.doc.contents, 'kind')) === 'ConfigMap' &&
      scalarString(getIn(r.doc.contents, ['metadata', 'name'])) === PACKAGE_CONTEXT_NAME,
  );
  return resource ? { file, resource } : undefined;
}

/** The context's `data` as a plain map, or `undefined` when the package has no context ConfigMap. */
export function readPackageContext(files: PackageFiles): Record<string, string> | undefined {
  const found = findContext(files);
  if (!found) return undefined;
  const data = getField(found.resource.doc.contents, 'data');
  const out: Record<string, string> = {};
  if (isMap(data)) for (const pair of data.items) out[keyString(pair.key)] = scalarString(pair.value) ?? '';
  return out;
}

export interface PackageContextChange {
  /** Keys to set or overwrite. */
  data?: Record<string, string>;
  /** Keys to delete. */
  removeKeys?: string[];
}

/**
 * Sets and removes data keys of the package context (as the PackageVariant controller's
 * `spec.packageContext` does). Returns a new file map; the file keeps its comments and formatting.
 * Throws {@link PackageError} when the context ConfigMap or its `data` map is missing, or when a
 * reserved key (`name`, `package-path`) is named.
 */
export function updatePackageContext(files: PackageFiles, change: PackageContextChange): PackageFiles {
  for (const key of [...Object.keys(change.data ?? {}), ...(change.removeKeys ?? [])]) {
    if ((RESERVED_CONTEXT_KEYS as readonly string[]).includes(key)) {
      throw new PackageError(PACKAGE_CONTEXT_FILE, undefined, `must not contain the key "${key}"`);
    }
  }
  const found = findContext(files);
  if (!found) {
    throw new PackageError(PACKAGE_CONTEXT_FILE, undefined, `no ConfigMap named ${PACKAGE_CONTEXT_NAME} found`);
  }
  const contents = found.resource.doc.contents as YAMLMap;
  const data = getField(contents, 'data');
  if (!isMap(data)) {
    throw new PackageError(
      PACKAGE_CONTEXT_FILE,
      found.resource.index,
      `ConfigMap ${PACKAGE_CONTEXT_NAME} has no data map`,
    );
  }
  let changed = false;
  for (const [key, value] of Object.entries(change.data ?? {})) {
    if (scalarString(getField(data, key)) === value && getField(data, key) !== undefined) continue;
    setField(ensureMap(contents, ['data']), key, new Scalar(value));
    changed = true;
  }
  for (const key of change.removeKeys ?? []) changed = deleteField(data, key) || changed;
  if (!changed) return files;
  const texts = found.file.documents.map((d) => (d.index === found.resource.index ? renderDocument(d) : d.raw));
  const out = new Map(files);
  out.set(PACKAGE_CONTEXT_FILE, Buffer.from(joinDocuments(texts), 'utf8'));
  return out;
}
