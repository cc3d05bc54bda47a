// Remote URLs: which transport a URL uses, and refusal of anything git could be tricked with
// (remote helpers such as ext::, option-like URLs, credentials inside the URL).
import { GitInputError } from './validate.ts';

export type Transport = 'https' | 'http' | 'ssh' | 'git' | 'file';

export interface RemoteUrl {
  /** The URL handed to git. */
  url: string;
  transport: Transport;
  /** Host (empty for file). */
  host: string;
}

// eslint-disable-next-line no-control-regex
const CONTROL_OR_SPACE = /[\u0000-\u0020\u007f]/;
const SCP_LIKE = /^(?:[A-Za-z0-9._-]+@)?([A-Za-z0-9.-]+):(?!\/\/)(.+)$/;

export function parseRemoteUrl(raw: string): RemoteUrl {
  const fail = (reason: string): never => {
    throw new GitInputError(`invalid repository URL: ${reason}`);
  };
  if (raw === '') fail('must not be empty');
  if (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(raw)) fail('remote helpers (such as ext::) are not allowed');
  if (CONTROL_OR_SPACE.test(raw)) fail('must not contain whitespace or control characters');
  if (raw.startsWith('-')) fail("must not start with '-'");
  if (raw.startsWith('/')) return { url: raw, transport: 'file', host: '' };
  if (!raw.includes('://')) {
    const scp = SCP_LIKE.exec(raw);
    if (scp && scp[1] && scp[1].length > 1) return { url: raw, transport: 'ssh', host: scp[1] };
    fail('must be an https://, http://, ssh://, git:// or file:// URL, user@host:path, or an absolute path');
  }
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return fail('not a valid URL');
  }
  const transport = parsed.protocol.slice(0, -1);
  if (!['https', 'http', 'ssh', 'git', 'file'].includes(transport)) {
    fail(`transport ${JSON.stringify(transport)} is not allowed; use https, http, ssh, git or file`);
  }
  if (parsed.password) fail('must not contain credentials; use a Secret');
  if (transport !== 'ssh' && parsed.username) fail('must not contain a user name; use a Secret');
  return { url: raw, transport: transport as Transport, host: parsed.hostname };
}
