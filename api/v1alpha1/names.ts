// Rules for names, package paths and URLs that come from users and end up in git refs, paths and
// command lines. Each returns a reason when the input is not acceptable, or undefined when it is.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// One path segment of a package or workspace: what git accepts in a ref and a file system in a
// path, without a leading '-' (option injection) or '.' (hidden files, '..').
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export function checkDnsLabel(name: string): string | undefined {
  if (name.length > 63) return 'must be no more than 63 characters';
  if (!DNS1123_LABEL.test(name)) {
    return "must be a lowercase RFC 1123 label: lowercase alphanumerics or '-', starting and ending with an alphanumeric";
  }
  return undefined;
}

export function checkDnsSubdomain(name: string): string | undefined {
  if (name.length > 253) return 'must be no more than 253 characters';
  if (!DNS1123_SUBDOMAIN.test(name)) {
    return "must be a lowercase RFC 1123 subdomain: lowercase alphanumerics, '-' or '.', starting and ending with an alphanumeric";
  }
  return undefined;
}

function checkSegment(segment: string): string | undefined {
  if (CONTROL.test(segment)) return 'must not contain control characters';
  if (segment === '..' || segment === '.') return "must not contain '.' or '..' segments";
  if (segment.startsWith('-')) return "must not start with '-'";
  if (!SEGMENT.test(segment)) {
    return "segments may contain only letters, digits, '.', '_' and '-', and must start with a letter, digit or '_'";
  }
  if (segment.endsWith('.lock') || segment.endsWith('.')) return "segments must not end with '.lock' or '.'";
  return undefined;
}

/** A workspace name: one segment. */
export function checkWorkspaceName(name: string): string | undefined {
  if (name.includes('/')) return "must not contain '/'";
  return checkSegment(name);
}

/** A package path relative to a repository directory, e.g. `team/app`. */
export function checkPackagePath(path: string): string | undefined {
  if (path === '') return 'must not be empty';
  if (path.startsWith('/')) return 'must be a relative path';
  for (const segment of path.split('/')) {
    if (segment === '') return "must not contain empty segments ('//' or a trailing '/')";
    const reason = checkSegment(segment);
    if (reason) return reason;
  }
  return undefined;
}

/** A repository directory: like a package path, but '', '/' and a leading '/' are allowed (Porch writes `/`). */
export function checkDirectory(directory: string): string | undefined {
  const trimmed = directory.replace(/^\/+/, '').replace(/\/+$/, '');
  return trimmed === '' ? undefined : checkPackagePath(trimmed);
}

const ALLOWED_SCHEMES = ['https:', 'http:', 'ssh:', 'git:', 'file:'];
const SCP_LIKE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$/;

/** A git URL: https, http, ssh, git, file or scp-like `user@host:path`; no credentials inside it. */
export function checkGitUrl(url: string): string | undefined {
  if (url === '') return 'must not be empty';
  if (CONTROL.test(url) || /\s/.test(url)) return 'must not contain whitespace or control characters';
  if (url.startsWith('-')) return "must not start with '-'";
  if (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(url)) return 'remote helpers such as ext:: are not allowed';
  if (SCP_LIKE.test(url) && !url.includes('://')) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be a URL (https://, http://, ssh://, git://, file://) or user@host:path';
  }
  if (!ALLOWED_SCHEMES.includes(parsed.protocol)) {
    return `transport ${parsed.protocol.slice(0, -1)} is not allowed; use https, http, ssh, git or file`;
  }
  if (parsed.password) return 'must not contain credentials; reference a Secret with secretRef instead';
  return undefined;
}

/** A git branch name (`git check-ref-format --branch` rules, plus no leading '-'). */
export function checkBranchName(branch: string): string | undefined {
  if (branch === '') return 'must not be empty';
  if (branch.startsWith('-')) return "must not start with '-'";
  if (CONTROL.test(branch) || /[\s~^:?*[\\]/.test(branch))
    return 'must not contain spaces, control characters or ~^:?*[\\';
  if (branch.includes('..') || branch.includes('@{') || branch.includes('//'))
    return "must not contain '..', '@{' or '//'";
  if (branch.startsWith('/') || branch.endsWith('/') || branch.endsWith('.') || branch.endsWith('.lock')) {
    return "must not start or end with '/', or end with '.' or '.lock'";
  }
  if (branch.split('/').some((part) => part.startsWith('.'))) return "no component may start with '.'";
  return undefined;
}

/** The URL with any password replaced, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/, '$1:***@');
}
