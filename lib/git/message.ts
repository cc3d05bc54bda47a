// Commit messages in Porch's format, plus the owner trailers of this project:
//
//   <title>
//
//   [<body>
//   ]
//   kpt:{"package":"<pkgPath>","workspaceName":"<ws>","revision":"0","task":{...}}
//   Packagevariant-Owner: <namespace>/<name>
//   Packagevariant-Owner-Uid: <uid>
//   [Packagevariant-Conflicts: [{"file":...,"resource":...,"field":...,"winner":...}, ...]]
//
// Without a body and an owner these are exactly Porch's bytes: `<title>\n\n\nkpt:<json>\n`.
import { assertOneLine, GitInputError } from './validate.ts';

export const OWNER_TRAILER = 'Packagevariant-Owner';
export const OWNER_UID_TRAILER = 'Packagevariant-Owner-Uid';
/** The merge conflicts a draft carries, as JSON, so that they are known from git alone. */
export const CONFLICTS_TRAILER = 'Packagevariant-Conflicts';

/** The JSON of a `kpt:` line (all keys optional, as Porch omits empty ones). */
export interface KptAnnotation {
  package?: string;
  workspaceName?: string;
  revision?: string;
  task?: unknown;
}

/** The object that owns a draft (a PackageVariant), recorded in git. */
export interface Owner {
  namespace: string;
  name: string;
  uid?: string;
}

/** A field both sides of a merge changed (lib/merge's Conflict, structurally). */
export interface RecordedConflict {
  file: string;
  resource: string;
  field: string;
  original?: string;
  updated?: string;
  local?: string;
  winner: string;
}

export interface CommitMessageParts {
  title: string;
  body?: string;
  annotation?: KptAnnotation;
  owner?: Owner;
  conflicts?: readonly RecordedConflict[];
}

const OWNER_PART = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;

export function assertOwner(owner: Owner): void {
  for (const [what, value] of [
    ['owner namespace', owner.namespace],
    ['owner name', owner.name],
  ] as const) {
    if (!OWNER_PART.test(value)) throw new GitInputError(`invalid ${what} ${JSON.stringify(value)}`);
  }
  if (owner.uid !== undefined && !/^[A-Za-z0-9-]{1,128}$/.test(owner.uid)) {
    throw new GitInputError(`invalid owner uid ${JSON.stringify(owner.uid)}`);
  }
}

export function formatCommitMessage(parts: CommitMessageParts): string {
  assertOneLine('commit title', parts.title);
  let message = `${parts.title}\n\n`;
  if (parts.body) message += `${parts.body.replace(/\n+$/, '')}\n`;
  const trailers: string[] = [];
  if (parts.annotation) trailers.push(`kpt:${JSON.stringify(parts.annotation)}`);
  if (parts.owner) {
    assertOwner(parts.owner);
    trailers.push(`${OWNER_TRAILER}: ${parts.owner.namespace}/${parts.owner.name}`);
    if (parts.owner.uid) trailers.push(`${OWNER_UID_TRAILER}: ${parts.owner.uid}`);
  }
  if (parts.conflicts?.length) trailers.push(`${CONFLICTS_TRAILER}: ${JSON.stringify(parts.conflicts)}`);
  if (trailers.length) message += `\n${trailers.join('\n')}\n`;
  return message;
}

export interface ParsedMessage {
  title: string;
  annotations: KptAnnotation[];
  owner?: Owner;
  conflicts?: RecordedConflict[];
}

export function parseCommitMessage(message: string): ParsedMessage {
  const lines = message.split('\n');
  const annotations: KptAnnotation[] = [];
  let ownerRef: string | undefined;
  let uid: string | undefined;
  let conflicts: RecordedConflict[] | undefined;
  for (const raw of lines) {
    const line = raw.trim();
    if (line.startsWith('kpt:')) {
      try {
        const value = JSON.parse(line.slice(4)) as unknown;
        if (value && typeof value === 'object' && !Array.isArray(value)) annotations.push(value as KptAnnotation);
      } catch {
        /* not an annotation (Porch ignores these too) */
      }
    } else if (line.startsWith(`${OWNER_TRAILER}:`)) {
      ownerRef = line.slice(OWNER_TRAILER.length + 1).trim();
    } else if (line.startsWith(`${OWNER_UID_TRAILER}:`)) {
      uid = line.slice(OWNER_UID_TRAILER.length + 1).trim();
    } else if (line.startsWith(`${CONFLICTS_TRAILER}:`)) {
      conflicts = parseConflicts(line.slice(CONFLICTS_TRAILER.length + 1));
    }
  }
  // Drafts written before the trailer existed hold only the report in the body.
  const reported = /^Merge conflicts \((\d+)\)/m.exec(message);
  if (!conflicts && reported) {
    conflicts = Array.from({ length: Number(reported[1]) }, () => ({
      file: '',
      resource: '',
      field: '(see the draft commit message)',
      winner: 'upstream',
    }));
  }
  const slash = ownerRef?.indexOf('/') ?? -1;
  const owner =
    ownerRef && slash > 0
      ? { namespace: ownerRef.slice(0, slash), name: ownerRef.slice(slash + 1), ...(uid ? { uid } : {}) }
      : undefined;
  return { title: lines[0] ?? '', annotations, ...(owner ? { owner } : {}), ...(conflicts ? { conflicts } : {}) };
}

function parseConflicts(json: string): RecordedConflict[] {
  try {
    const value = JSON.parse(json) as unknown;
    if (!Array.isArray(value)) throw new Error('not a list');
    return value.map((c: Record<string, unknown>) => {
      const text = (key: string) => (typeof c?.[key] === 'string' ? { [key]: c[key] as string } : {});
      return {
        file: String(c?.file ?? ''),
        resource: String(c?.resource ?? ''),
        field: String(c?.field ?? ''),
        ...text('original'),
        ...text('updated'),
        ...text('local'),
        winner: String(c?.winner ?? 'upstream'),
      };
    });
  } catch {
    // Unreadable, but a conflict record all the same: never read it as "no conflicts".
    return [{ file: '', resource: '', field: '(unreadable conflict record)', winner: 'upstream' }];
  }
}

export interface Identity {
  name: string;
  email: string;
}

export interface ParsedCommit {
  tree: string;
  parents: string[];
  author: string;
  committer: string;
  /** Seconds since the epoch (committer time). */
  time: number;
  message: string;
}

/** A commit time (seconds since the epoch) as RFC 3339, to the second; undefined for none. */
export function commitTimeString(seconds: number): string | undefined {
  return seconds > 0 ? new Date(seconds * 1000).toISOString().replace(/\.000Z$/, 'Z') : undefined;
}

/** `Name <email>` of a raw author/committer header value (`Name <email> <seconds> <zone>`). */
export function identityOf(header: string): string {
  return /^(.*?) \d+ [+-]\d{4}$/.exec(header)?.[1] ?? header;
}

export function parseCommit(content: Buffer): ParsedCommit {
  const text = content.toString('utf8');
  const split = text.indexOf('\n\n');
  const headers = (split < 0 ? text : text.slice(0, split)).split('\n');
  const message = split < 0 ? '' : text.slice(split + 2);
  let tree = '';
  const parents: string[] = [];
  let author = '';
  let committer = '';
  for (const header of headers) {
    const space = header.indexOf(' ');
    const key = header.slice(0, space);
    const value = header.slice(space + 1);
    if (key === 'tree') tree = value;
    else if (key === 'parent') parents.push(value);
    else if (key === 'author') author = value;
    else if (key === 'committer') committer = value;
  }
  const time = Number(/ (\d+) [+-]\d{4}$/.exec(committer)?.[1] ?? 0);
  return { tree, parents, author, committer, time, message };
}
