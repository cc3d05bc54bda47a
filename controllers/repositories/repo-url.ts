// One identity per repository, whatever the transport: https://h/o/r.git, ssh://git@h/o/r and
// git@h:o/r all name `h/o/r`. Webhook payloads are matched against Repositories with it.

const SCP_LIKE = /^[^@/\s]+@([^:/\s]+):(.+)$/;

export function normalizeRepoUrl(url: string): string {
  const trimmed = url.trim();
  const scp = SCP_LIKE.exec(trimmed);
  if (scp && !trimmed.includes('://')) return clean(`${scp[1]!.toLowerCase()}/${scp[2]!}`);
  try {
    const parsed = new URL(trimmed);
    if (parsed.protocol === 'file:') return `file://${clean(parsed.pathname)}`;
    // An OCI image repository keeps its port: two registries on one host are two repositories.
    if (parsed.protocol === 'oci:') return `oci://${parsed.host.toLowerCase()}${clean(parsed.pathname)}`;
    return clean(`${parsed.hostname.toLowerCase()}${parsed.pathname}`);
  } catch {
    return clean(trimmed);
  }
}

function clean(path: string): string {
  return path
    .replace(/\/+$/, '')
    .replace(/\.git$/, '')
    .replace(/\/+$/, '');
}
