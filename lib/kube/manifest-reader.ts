// Reads Kubernetes manifests from YAML/JSON files and directories, bounded: hostile input (an alias
// bomb, a huge or binary file, a symlink loop, a FIFO) ends in an error naming the file and the
// document, never in a hang or a crash. Each object keeps where it came from, for messages.
import { closeSync, fstatSync, openSync, readdirSync, readSync, realpathSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { isCollection, isPair, parseAllDocuments, visit } from 'yaml';

export interface ManifestSource {
  file: string;
  /** 0-based index of the document in the file; -1 for the file as a whole. */
  index: number;
}

export interface LoadedObject extends ManifestSource {
  object: unknown;
}

export interface LoadError extends ManifestSource {
  message: string;
}

export interface ReadLimits {
  /** Largest file read (bytes); a larger file is refused before it is parsed. */
  maxFileBytes: number;
  /** Largest document (bytes of JSON it stands for, aliases expanded): the API server's request limit. */
  maxDocumentBytes: number;
  /** YAML aliases a document may resolve (the `yaml` package's maxAliasCount; 0 refuses all). */
  maxAliasCount: number;
}

export const DEFAULT_READ_LIMITS: ReadLimits = {
  maxFileBytes: 16 * 1024 * 1024,
  maxDocumentBytes: 3 * 1024 * 1024,
  maxAliasCount: 100,
};

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/**
 * Files named by `paths`; directories are walked recursively for regular .yaml, .yml and .json
 * files. A file reached twice (a symlink, a path given twice) is read once; a directory that links
 * back to one being walked is reported as a symlink loop.
 */
export function listManifestFiles(paths: string[]): { files: string[]; errors: LoadError[] } {
  const files: string[] = [];
  const errors: LoadError[] = [];
  const seen = new Set<string>();
  const walk = (path: string, explicit: boolean, ancestors: Set<string>) => {
    let stat;
    let real;
    try {
      stat = statSync(path);
      real = realpathSync(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const message =
        code === 'ELOOP' ? 'symlink loop' : code === 'EACCES' ? 'permission denied' : 'no such file or directory';
      errors.push({ file: path, index: -1, message });
      return;
    }
    if (stat.isDirectory()) {
      if (ancestors.has(real))
        return void errors.push({ file: path, index: -1, message: 'symlink loop: links to a directory being read' });
      if (seen.has(real)) return;
      seen.add(real);
      let entries: string[];
      try {
        entries = readdirSync(path).sort();
      } catch (e) {
        return void errors.push({ file: path, index: -1, message: (e as Error).message });
      }
      const inside = new Set(ancestors).add(real);
      for (const entry of entries) walk(join(path, entry), false, inside);
    } else if (explicit || (stat.isFile() && MANIFEST_EXTENSIONS.has(extname(path)))) {
      if (seen.has(real)) return;
      seen.add(real);
      files.push(path);
    }
  };
  for (const path of paths) walk(path, true, new Set());
  return { files, errors };
}

/** Reads at most `max + 1` bytes, so that a pipe or a device cannot make us read forever. */
function readBounded(file: string, max: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > max) throw new LimitError(`file too large (${size} bytes; the limit is ${max}, --max-file-bytes)`);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(1 << 20, max + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > max) throw new LimitError(`file too large (more than ${max} bytes, --max-file-bytes)`);
    }
    return Buffer.concat(chunks);
  } finally {
    closeSync(fd);
  }
}

class LimitError extends Error {}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The document's value as plain JSON data: own copies (no shared alias targets), bounded in size. */
function plainCopy(value: unknown, budget: { bytes: number }, max: number): unknown {
  const spend = (n: number) => {
    budget.bytes += n;
    if (budget.bytes > max) {
      throw new LimitError(`document too large (more than ${max} bytes with aliases expanded, --max-manifest-bytes)`);
    }
  };
  if (Array.isArray(value)) {
    spend(2);
    return value.map((item) => plainCopy(item, budget, max));
  }
  if (value !== null && typeof value === 'object') {
    spend(2);
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => {
        spend(key.length + 4);
        return [key, plainCopy(item, budget, max)];
      }),
    );
  }
  spend(typeof value === 'string' ? value.length + 2 : 8);
  return value;
}

export function loadManifestFile(
  file: string,
  limits: ReadLimits = DEFAULT_READ_LIMITS,
): { objects: LoadedObject[]; errors: LoadError[] } {
  const fail = (message: string, index = -1) => ({ objects: [], errors: [{ file, index, message }] });
  let text: string;
  try {
    text = decoder.decode(readBounded(file, limits.maxFileBytes));
  } catch (e) {
    if (e instanceof LimitError) return fail(e.message);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_ENCODING_INVALID_ENCODED_DATA') return fail('not UTF-8 text');
    return fail(code === 'EISDIR' ? 'is a directory' : (e as Error).message);
  }
  const nul = text.indexOf('\0');
  if (nul >= 0) return fail(`contains a NUL byte (offset ${nul}): not a YAML or JSON text file`);
  // A byte order mark may start the file and, in concatenated files, any document.
  text = text.replace(/^\uFEFF/gm, '');
  const objects: LoadedObject[] = [];
  const errors: LoadError[] = [];
  parseAllDocuments(text, { merge: true }).forEach((doc, index) => {
    const error = (message: string) => errors.push({ file, index, message });
    const problem = doc.errors[0];
    if (problem) {
      const at = problem.linePos?.[0];
      const where = at ? ` (line ${at.line}, column ${at.col})` : '';
      const reason =
        problem.code === 'RESOURCE_EXHAUSTION' ? 'nested too deeply' : problem.message.replace(/ at line \d+.*$/s, '');
      return error(`not valid YAML: ${reason}${where}`);
    }
    const [start, , end] = doc.range;
    if (Buffer.byteLength(text.slice(start, end)) > limits.maxDocumentBytes) {
      return error(`document too large (more than ${limits.maxDocumentBytes} bytes, --max-manifest-bytes)`);
    }
    let complexKey = false;
    visit(doc, {
      Pair: (_, pair) => {
        if (isPair(pair) && isCollection(pair.key)) {
          complexKey = true;
          return visit.BREAK;
        }
      },
    });
    if (complexKey) return error('not valid for Kubernetes: a mapping key is a collection, not a string');
    let object: unknown;
    try {
      object = plainCopy(doc.toJS({ maxAliasCount: limits.maxAliasCount }), { bytes: 0 }, limits.maxDocumentBytes);
    } catch (e) {
      if (e instanceof LimitError) return error(e.message);
      if (e instanceof ReferenceError && /excessive alias count|alias resolution is disabled/i.test(e.message)) {
        return error(`too many YAML aliases (the limit is ${limits.maxAliasCount}, --max-yaml-aliases)`);
      }
      return error(`not valid YAML: ${(e as Error).message}`);
    }
    if (object !== null && object !== undefined) objects.push({ file, index, object });
  });
  return { objects, errors };
}

export function loadManifests(
  paths: string[],
  limits: ReadLimits = DEFAULT_READ_LIMITS,
): { objects: LoadedObject[]; errors: LoadError[] } {
  const { files, errors } = listManifestFiles(paths);
  const objects: LoadedObject[] = [];
  for (const file of files) {
    const loaded = loadManifestFile(file, limits);
    objects.push(...loaded.objects);
    errors.push(...loaded.errors);
  }
  return { objects, errors };
}

/** `file` or `file[2]` (document index), for messages. */
export function describeSource(source: ManifestSource): string {
  return source.index >= 0 ? `${source.file}[${source.index}]` : source.file;
}
