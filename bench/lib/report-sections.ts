// The sections other benchmarks write into BENCHMARKS.md, between `<!-- name: ... -->` and
// `<!-- /name -->` markers, so that `make bench` (bench/report.ts) rewrites the page around them.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BENCHMARKS_MD = join(import.meta.dirname, '..', '..', 'BENCHMARKS.md');

const SECTION = /<!-- ([a-z-]+):[^\n]*-->[\s\S]*?<!-- \/\1 -->/g;

/** Every marked section of `markdown`, in order. */
export function markedSections(markdown: string): string[] {
  return [...markdown.matchAll(SECTION)].map((m) => m[0]);
}

/** `markdown` with the section of that name replaced by `section`, or `section` appended. */
export function withSection(markdown: string, name: string, section: string): string {
  const start = markdown.indexOf(`<!-- ${name}:`);
  const endMarker = `<!-- /${name} -->`;
  const end = markdown.indexOf(endMarker, start);
  return start >= 0 && end > start
    ? markdown.slice(0, start) + section + markdown.slice(end + endMarker.length)
    : `${markdown.trimEnd()}\n\n${section}\n`;
}

/** Writes `section` into BENCHMARKS.md in place of the marked one of that name, or at the end. */
export function writeSection(name: string, section: string, file = BENCHMARKS_MD): void {
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  writeFileSync(file, withSection(current, name, section));
}
