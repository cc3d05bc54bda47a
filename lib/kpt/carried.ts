// What a downstream package carries of its own: the fields where it differs from the upstream
// revision it is based on (the local side of its next merge), resource by resource. Bookkeeping
// that clone and update write (merge keys, the package context, the Kptfile's upstream and lock)
// is not a customization. Pure: two packages in, a field list out.
import { isDeepStrictEqual } from 'node:util';
import { formatIdentity, resourceIdentity, UPSTREAM_IDENTIFIER_ANNOTATION } from './identity.ts';
import { KPTFILE, type PackageFiles } from './package.ts';
import { parseDocuments } from './yaml.ts';

export interface CarriedField {
  file: string;
  /** `Deployment.apps ns/name`, `Kptfile`, or `(file)` for a file that is not YAML resources. */
  resource: string;
  /** `spec.replicas`, `spec.template.spec.containers[name=app].env[name=MODE].value`; `(resource)` / `(content)` for all of it. */
  field: string;
  /** JSON of the value on each side; absent where the side has none (a whole resource: `added`, `deleted downstream`). */
  upstream?: string;
  downstream?: string;
}

const CONTEXT_CONFIGMAP = 'kptfile.kpt.dev';
const KPTFILE_BOOKKEEPING = ['upstream', 'upstreamLock'];

type Json = unknown;

function isYaml(path: string): boolean {
  return path === KPTFILE || path.endsWith('/Kptfile') || /\.ya?ml$/.test(path);
}

/** Resources of a file by identity, without bookkeeping; undefined when the file is not YAML resources. */
function resourcesOf(path: string, content: Buffer): Map<string, Json> | undefined {
  let docs;
  try {
    docs = parseDocuments(content.toString('utf8'));
  } catch {
    return undefined;
  }
  const out = new Map<string, Json>();
  for (const { doc } of docs) {
    if (doc.contents === null) continue;
    const value = doc.toJSON() as Record<string, Json> | null;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const kind = value.kind;
    const metadata = (value.metadata ?? {}) as Record<string, Json>;
    if (kind === 'ConfigMap' && metadata.name === CONTEXT_CONFIGMAP) continue;
    const annotations = metadata.annotations as Record<string, Json> | undefined;
    if (annotations) {
      delete annotations[UPSTREAM_IDENTIFIER_ANNOTATION];
      if (Object.keys(annotations).length === 0) delete metadata.annotations;
    }
    if (kind === 'Kptfile') {
      for (const key of KPTFILE_BOOKKEEPING) delete value[key];
      delete metadata.name; // clone names the package after its downstream
      out.set('Kptfile', value);
      continue;
    }
    out.set(formatIdentity(resourceIdentity(doc.contents)), value);
  }
  return out;
}

const show = (v: Json) => JSON.stringify(v);

/** A list element's key: `name=x` when elements are maps with a name, else its position. */
function elementKey(item: Json, index: number): string {
  const name = typeof item === 'object' && item !== null ? (item as Record<string, Json>).name : undefined;
  return typeof name === 'string' ? `name=${name}` : String(index);
}

function diffValues(
  path: string,
  up: Json,
  down: Json,
  out: Array<{ field: string; upstream?: Json; downstream?: Json }>,
): void {
  if (isDeepStrictEqual(up, down)) return;
  const bothMaps = [up, down].every((v) => typeof v === 'object' && v !== null && !Array.isArray(v));
  if (bothMaps) {
    const a = up as Record<string, Json>;
    const b = down as Record<string, Json>;
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const field = path ? `${path}.${key}` : key;
      if (!(key in a)) out.push({ field, downstream: b[key] });
      else if (!(key in b)) out.push({ field, upstream: a[key] });
      else diffValues(field, a[key], b[key], out);
    }
    return;
  }
  if (Array.isArray(up) && Array.isArray(down)) {
    const keyed = (list: Json[]) => new Map(list.map((item, i) => [elementKey(item, i), item]));
    const a = keyed(up);
    const b = keyed(down);
    for (const key of new Set([...a.keys(), ...b.keys()])) {
      const field = `${path}[${key}]`;
      if (!a.has(key)) out.push({ field, downstream: b.get(key) });
      else if (!b.has(key)) out.push({ field, upstream: a.get(key) });
      else diffValues(field, a.get(key), b.get(key), out);
    }
    return;
  }
  out.push({ field: path || '(resource)', upstream: up, downstream: down });
}

export function carriedFields(upstream: PackageFiles, downstream: PackageFiles): CarriedField[] {
  const out: CarriedField[] = [];
  const push = (file: string, resource: string, f: { field: string; upstream?: Json; downstream?: Json }) =>
    out.push({
      file,
      resource,
      field: f.field,
      ...(f.upstream !== undefined ? { upstream: show(f.upstream) } : {}),
      ...(f.downstream !== undefined ? { downstream: show(f.downstream) } : {}),
    });
  for (const file of [...new Set([...upstream.keys(), ...downstream.keys()])].sort()) {
    const a = upstream.get(file);
    const b = downstream.get(file);
    if (a && b && a.equals(b)) continue;
    const ra = a && isYaml(file) ? resourcesOf(file, a) : undefined;
    const rb = b && isYaml(file) ? resourcesOf(file, b) : undefined;
    if ((a && !ra) || (b && !rb)) {
      out.push({ file, resource: '(file)', field: '(content)' });
      continue;
    }
    const left = ra ?? new Map<string, Json>();
    const right = rb ?? new Map<string, Json>();
    for (const resource of new Set([...left.keys(), ...right.keys()])) {
      const fields: Array<{ field: string; upstream?: Json; downstream?: Json }> = [];
      if (!left.has(resource)) out.push({ file, resource, field: '(resource)', downstream: 'added' });
      else if (!right.has(resource)) out.push({ file, resource, field: '(resource)', upstream: 'deleted downstream' });
      else diffValues('', left.get(resource), right.get(resource), fields);
      for (const f of fields) push(file, resource, f);
    }
  }
  return out;
}

/** Customizations several downstreams carry alike (same file, resource, field and value): candidates to move upstream. */
export function commonCarried(
  byPackage: ReadonlyMap<string, readonly CarriedField[]>,
  minimum = 2,
): Array<CarriedField & { packages: string[] }> {
  const groups = new Map<string, CarriedField & { packages: string[] }>();
  for (const [pkg, fields] of byPackage) {
    for (const f of fields) {
      const key = JSON.stringify([f.file, f.resource, f.field, f.upstream, f.downstream]);
      const group = groups.get(key) ?? { ...f, packages: [] };
      group.packages.push(pkg);
      groups.set(key, group);
    }
  }
  return [...groups.values()]
    .filter((g) => g.packages.length >= minimum)
    .sort((x, y) => y.packages.length - x.packages.length || x.field.localeCompare(y.field));
}
