// `.krmignore` (gitignore syntax, kpt reads it per package): which package files are not resources.
// Supported: comments, blank lines, `!` negation, a leading or inner `/` (anchored to the package),
// a trailing `/` (directories only), and the globs `*`, `**`, `?`.
export type Ignore = (path: string, isDir: boolean) => boolean;

function globToRegExp(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        out += '.*';
        i++;
        if (glob[i + 1] === '/') i++;
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return out;
}

export function parseKrmignore(text: string): Ignore {
  const rules: { re: RegExp; negate: boolean; dirOnly: boolean }[] = [];
  for (let line of text.split(/\r?\n/)) {
    if (!line.trim() || line.startsWith('#')) continue;
    line = line.replace(/\s+$/, '');
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1);
    const dirOnly = line.endsWith('/');
    if (dirOnly) line = line.slice(0, -1);
    const anchored = line.includes('/');
    if (line.startsWith('/')) line = line.slice(1);
    const body = globToRegExp(line);
    rules.push({ re: new RegExp(anchored ? `^${body}$` : `(^|/)${body}$`), negate, dirOnly });
  }
  return (path, isDir) => {
    let ignored = false;
    for (const rule of rules) {
      if (rule.dirOnly && !isDir) continue;
      if (rule.re.test(path)) ignored = !rule.negate;
    }
    return ignored;
  };
}

/** Whether `path` (relative to the package) or one of its parent directories is ignored. */
export function isIgnored(ignore: Ignore, path: string): boolean {
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) if (ignore(parts.slice(0, i).join('/'), true)) return true;
  return ignore(path, false);
}
