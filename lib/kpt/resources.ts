// The KRM resources of a package: every `*.yaml` / `*.yml` file (the Kptfile excepted) parsed into
// comment-preserving documents, each with its file path and document index. A file that is not valid
// UTF-8 is not parsed (decoding would replace its bytes): it is carried as an opaque file.
import { isUtf8 } from 'node:buffer';
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

/**
 * `true` for the resource files that are parsed: `*.yaml`/`*.yml` (not the Kptfile) holding valid
 * UTF-8. The others are opaque: copied and merged at file level, byte for byte.
 */
export function isParsedResourceFile(path: string, content: Buffer): boolean {
  return isResourceFile(path) && isUtf8(content);
}

/** The text of a YAML file that must be parsed; throws {@link PackageError} when it is not UTF-8. */
export function yamlText(path: string, content: Buffer): string {
  if (!isUtf8(content)) {
    throw new PackageError(path, undefined, 'is not valid UTF-8 (it cannot be parsed without changing its bytes)');
  }
  return content.toString('utf8');
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

/** Parses every KRM resource file of a package (files that are not UTF-8 are left out, see {@link isParsedResourceFile}). */
export function parsePackageResources(files: PackageFiles, options: ParseResourcesOptions = {}): ResourceFile[] {
  const out: ResourceFile[] = [];
  for (const [path, content] of files) {
    if (!isParsedResourceFile(path, content)) continue;
    out.push(parseResourceFile(path, content.toString('utf8'), options));
  }
  return out;
}
