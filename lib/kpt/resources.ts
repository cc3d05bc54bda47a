// The KRM resources of a package: every `*.yaml` / `*.yml` file (the Kptfile excepted) parsed into
// comment-preserving documents, each with its file path and document index.
import { KPTFILE, type PackageFiles } from './package.ts';
import { getField, isMap, parseDocuments, scalarString, YamlSyntaxError, type SourceDocument } from './yaml.ts';

/** One KRM resource: a YAML document of a package file. */
export interface ResourceDocument extends SourceDocument {
  /** Package-relative file path (forward slashes). */
  path: string;
}

/** A parsed KRM file: all its documents (including empty ones, which hold no resource). */
export interface ResourceFile {
  path: string;
  text: string;
  documents: SourceDocument[];
  /** Documents that hold a resource (a map). */
  resources: ResourceDocument[];
}

/** A problem in a package file, naming the file and (when known) the document index. */
export class PackageError extends Error {
  readonly file: string;
  readonly index: number | undefined;
  readonly problem: string;
  constructor(file: string, index: number | undefined, problem: string) {
    super(`${file}${index === undefined ? '' : ` (document ${index})`}: ${problem}`);
    this.name = 'PackageError';
    this.file = file;
    this.index = index;
    this.problem = problem;
  }
}

/** `true` for files the resource merge reads as KRM (`*.yaml`, `*.yml`; not the Kptfile). */
export function isResourceFile(path: string): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base !== KPTFILE && /\.ya?ml$/i.test(base);
}

/** `true` for files kpt treats as KRM at all (resource files and the Kptfile). */
export function isKrmFile(path: string): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base === KPTFILE || isResourceFile(path);
}

export interface ParseResourcesOptions {
  /** Require `kind` on every resource (default true). */
  requireKind?: boolean;
}

/** Parses one file's text into documents; throws {@link PackageError} on invalid YAML. */
export function parseResourceFile(path: string, text: string, options: ParseResourcesOptions = {}): ResourceFile {
  let documents: SourceDocument[];
  try {
    documents = parseDocuments(text);
  } catch (e) {
    if (e instanceof YamlSyntaxError) {
      throw new PackageError(path, e.index, `invalid YAML${e.line ? ` at line ${e.line}` : ''}: ${e.message}`);
    }
    throw e;
  }
  const resources: ResourceDocument[] = [];
  for (const document of documents) {
    const contents = document.doc.contents;
    if (contents === null || (contents as { value?: unknown }).value === null) continue;
    if (!isMap(contents)) throw new PackageError(path, document.index, 'not a KRM resource (a YAML map is expected)');
    if ((options.requireKind ?? true) && !scalarString(getField(contents, 'kind'))) {
      throw new PackageError(path, document.index, 'resource has no kind');
    }
    resources.push({ ...document, path });
  }
  return { path, text, documents, resources };
}

/** Parses every KRM resource file of a package. */
export function parsePackageResources(files: PackageFiles, options: ParseResourcesOptions = {}): ResourceFile[] {
  const out: ResourceFile[] = [];
  for (const [path, content] of files) {
    if (!isResourceFile(path)) continue;
    out.push(parseResourceFile(path, content.toString('utf8'), options));
  }
  return out;
}
