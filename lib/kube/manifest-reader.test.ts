import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_READ_LIMITS, describeSource, loadManifests } from './manifest-reader.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'manifest-reader-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}

const messages = (paths: string[], limits = DEFAULT_READ_LIMITS) =>
  loadManifests(paths, limits).errors.map((e) => `${describeSource(e)}: ${e.message}`);

/** A billion laughs: 9^8 strings from a few hundred bytes. */
function aliasBomb(): string {
  let text = 'a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
  const names = 'abcdefghi';
  for (let i = 1; i < names.length; i++) {
    text += `${names[i]}: &${names[i]} [${Array(9)
      .fill(`*${names[i - 1]}`)
      .join(', ')}]\n`;
  }
  return text;
}

describe('reading manifests', () => {
  it('keeps the file and document index of each object, and skips empty documents', () => {
    const path = file('fleet.yaml', '---\nkind: A\n---\n---\n# only a comment\n---\nkind: B\n');
    const { objects, errors } = loadManifests([path]);
    expect(errors).toEqual([]);
    expect(objects.map((o) => [describeSource(o), o.object])).toEqual([
      [`${path}[0]`, { kind: 'A' }],
      [`${path}[3]`, { kind: 'B' }],
    ]);
  });

  it('reads JSON, merge keys and a byte order mark at the start of any document', () => {
    const json = file('obj.json', '{"kind": "ConfigMap", "data": {"a": "1"}}');
    const bom = file('bom.yaml', '\uFEFFkind: A\n---\n\uFEFFkind: B\nbase: &b {x: 1}\nmerged: {<<: *b, y: 2}\n');
    expect(loadManifests([json, bom]).objects.map((o) => o.object)).toEqual([
      { kind: 'ConfigMap', data: { a: '1' } },
      { kind: 'A' },
      { kind: 'B', base: { x: 1 }, merged: { x: 1, y: 2 } },
    ]);
  });

  it('refuses an alias bomb quickly, naming the document, and reads the other documents', () => {
    const path = file('bomb.yaml', `kind: Before\n---\n${aliasBomb()}---\nkind: After\n`);
    const started = performance.now();
    const { objects, errors } = loadManifests([path]);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(errors.map((e) => `${describeSource(e)}: ${e.message}`)).toEqual([
      `${path}[1]: too many YAML aliases (the limit is 100, --max-yaml-aliases)`,
    ]);
    expect(objects.map((o) => o.object)).toEqual([{ kind: 'Before' }, { kind: 'After' }]);
  });

  it('gives every alias its own copy, so that changing one place changes no other', () => {
    const path = file('alias.yaml', 'metadata: &m {name: x}\nspec: {template: {metadata: *m}}\n');
    const object = loadManifests([path]).objects[0]!.object as {
      metadata: { name: string };
      spec: { template: { metadata: { name: string } } };
    };
    object.metadata.name = 'changed';
    expect(object.spec.template.metadata.name).toBe('x');
  });

  it('bounds documents by size, aliases expanded, and files by size', () => {
    const limits = { maxFileBytes: 4096, maxDocumentBytes: 1024, maxAliasCount: 100 };
    const big = file('big.yaml', `kind: Small\n---\nvalue: "${'x'.repeat(2000)}"\n`);
    const wide = file('wide.yaml', `a: &a "${'x'.repeat(200)}"\nb: [${Array(10).fill('*a').join(', ')}]\n`);
    const huge = file('huge.yaml', `value: "${'x'.repeat(5000)}"\n`);
    expect(messages([big, wide, huge], limits)).toEqual([
      `${big}[1]: document too large (more than 1024 bytes, --max-manifest-bytes)`,
      `${wide}[0]: document too large (more than 1024 bytes with aliases expanded, --max-manifest-bytes)`,
      `${huge}: file too large (5010 bytes; the limit is 4096, --max-file-bytes)`,
    ]);
    expect(messages([join('/dev', 'zero')], limits)).toEqual([
      '/dev/zero: file too large (more than 4096 bytes, --max-file-bytes)',
    ]);
  });

  it('refuses binary files, duplicate keys, collection keys and deep nesting with a position', () => {
    const nul = file('nul.yaml', Buffer.from('kind: A\0\n'));
    const utf16 = file('utf16.yaml', Buffer.from('\ufeffkind: A\n', 'utf16le'));
    const dup = file('dup.yaml', 'kind: A\nkind: B\n');
    const complex = file('complex.yaml', '? [a, b]\n: c\n');
    const deep = file('deep.json', '['.repeat(20000) + ']'.repeat(20000));
    expect(messages([nul, utf16, dup, complex, deep])).toEqual([
      `${nul}: contains a NUL byte (offset 7): not a YAML or JSON text file`,
      `${utf16}: not UTF-8 text`,
      `${dup}[0]: not valid YAML: Map keys must be unique (line 2, column 1)`,
      `${complex}[0]: not valid for Kubernetes: a mapping key is a collection, not a string`,
      expect.stringMatching(/deep\.json\[0\]: not valid YAML: nested too deeply \(line 1, column \d+\)$/),
    ]);
  });

  it('keeps a __proto__ key as data', () => {
    const path = file('proto.yaml', '__proto__: {polluted: true}\n');
    const object = loadManifests([path]).objects[0]!.object as object;
    expect(Object.keys(object)).toEqual(['__proto__']);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('walks directories for regular manifest files only, once each, and reports symlink loops', () => {
    const tree = join(dir, 'tree');
    file('tree/a.yaml', 'kind: A\n');
    file('tree/notes.txt', 'kind: NotRead\n');
    file('tree/sub/b.yml', 'kind: B\n');
    symlinkSync('..', join(tree, 'sub', 'loop'));
    symlinkSync('a.yaml', join(tree, 'again.yaml'));
    symlinkSync('missing.yaml', join(tree, 'dangling.yaml'));
    execFileSync('mkfifo', [join(tree, 'fifo.yaml')]);
    const { objects, errors } = loadManifests([tree, join(tree, 'a.yaml')]);
    expect(objects.map((o) => (o.object as { kind: string }).kind)).toEqual(['A', 'B']);
    expect(errors.map((e) => `${describeSource(e)}: ${e.message}`)).toEqual([
      `${join(tree, 'dangling.yaml')}: no such file or directory`,
      `${join(tree, 'sub', 'loop')}: symlink loop: links to a directory being read`,
    ]);
    const explicit = file('tree/explicit.txt', 'kind: Explicit\n');
    expect(loadManifests([explicit]).objects.map((o) => o.object)).toEqual([{ kind: 'Explicit' }]);
  });
});
