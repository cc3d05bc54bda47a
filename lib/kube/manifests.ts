// Reads Kubernetes manifests from YAML/JSON files and directories (multi-document YAML), keeping
// where each object came from so that errors can name the file and the document.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { loadAll, YAMLException } from 'js-yaml';

export interface ManifestSource {
  file: string;
  /** 0-based index of the document in the file. */
  index: number;
}

export interface LoadedObject extends ManifestSource {
  object: unknown;
}

export interface LoadError extends ManifestSource {
  message: string;
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** Files named by `paths`; directories are walked recursively for .yaml, .yml and .json files. */
export function listManifestFiles(paths: string[]): { files: string[]; errors: LoadError[] } {
  const files: string[] = [];
  const errors: LoadError[] = [];
  const walk = (path: string, explicit: boolean) => {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      errors.push({ file: path, index: -1, message: 'no such file or directory' });
      return;
    }
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path).sort()) walk(join(path, entry), false);
    } else if (explicit || MANIFEST_EXTENSIONS.has(extname(path))) {
      files.push(path);
    }
  };
  for (const path of paths) walk(path, true);
  return { files, errors };
}

export function loadManifestFile(file: string): { objects: LoadedObject[]; errors: LoadError[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { objects: [], errors: [{ file, index: -1, message: (e as Error).message }] };
  }
  try {
    const documents = loadAll(text);
    const objects = documents
      .map((object, index) => ({ file, index, object }))
      .filter((d) => d.object !== null && d.object !== undefined);
    return { objects, errors: [] };
  } catch (e) {
    const where = e instanceof YAMLException && e.mark ? ` (line ${e.mark.line + 1}, column ${e.mark.column + 1})` : '';
    const message = `not valid YAML: ${e instanceof YAMLException ? e.reason : String(e)}${where}`;
    return { objects: [], errors: [{ file, index: -1, message }] };
  }
}

export function loadManifests(paths: string[]): { objects: LoadedObject[]; errors: LoadError[] } {
  const { files, errors } = listManifestFiles(paths);
  const objects: LoadedObject[] = [];
  for (const file of files) {
    const loaded = loadManifestFile(file);
    objects.push(...loaded.objects);
    errors.push(...loaded.errors);
  }
  return { objects, errors };
}

/** `file` or `file[2]` (document index), for messages. */
export function describeSource(source: ManifestSource): string {
  return source.index >= 0 ? `${source.file}[${source.index}]` : source.file;
}
