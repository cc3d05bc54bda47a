import { describe, expect, it } from '@jest/globals';
import { registryAccessFromSecret, RegistrySecretError } from './credentials.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const dockerConfig = (auths: Record<string, unknown>, extra: Record<string, string> = {}) => ({
  type: 'kubernetes.io/dockerconfigjson',
  data: { '.dockerconfigjson': b64(JSON.stringify({ auths })), ...extra },
});

describe('registryAccessFromSecret', () => {
  it('reads the dockerconfigjson entry for the registry, whatever scheme or path its key has', () => {
    const secret = dockerConfig({
      'other.io': { auth: b64('x:y') },
      'https://ghcr.io/v1/': { auth: b64('me:pa:ss') },
    });
    expect(registryAccessFromSecret(secret, 'ghcr.io')).toEqual({ credentials: { username: 'me', password: 'pa:ss' } });
    expect(
      registryAccessFromSecret(dockerConfig({ 'LOCALHOST:5000': { username: 'u', password: 'p' } }), 'localhost:5000'),
    ).toEqual({
      credentials: { username: 'u', password: 'p' },
    });
  });

  it("takes Docker Hub's index.docker.io key for docker.io, and ca.crt beside the credentials", () => {
    const secret = dockerConfig({ 'https://index.docker.io/v1/': { auth: b64('hub:pw') } }, { 'ca.crt': b64('PEM') });
    expect(registryAccessFromSecret(secret, 'docker.io')).toEqual({
      credentials: { username: 'hub', password: 'pw' },
      ca: 'PEM',
    });
  });

  it('reads the older .dockercfg, basic-auth Secrets, and a Secret with only a CA', () => {
    expect(
      registryAccessFromSecret(
        { data: { '.dockercfg': b64(JSON.stringify({ 'h.io': { auth: b64('a:b') } })) } },
        'h.io',
      ),
    ).toEqual({
      credentials: { username: 'a', password: 'b' },
    });
    expect(
      registryAccessFromSecret(
        { type: 'kubernetes.io/basic-auth', stringData: { username: 'u', password: 'p' } },
        'h.io',
      ),
    ).toEqual({ credentials: { username: 'u', password: 'p' } });
    expect(registryAccessFromSecret({ data: { 'ca.crt': b64('PEM') } }, 'h.io')).toEqual({ ca: 'PEM' });
  });

  it('names the Secret and the registry in errors, never a value', () => {
    const fail = (secret: Parameters<typeof registryAccessFromSecret>[0], registry = 'ghcr.io') => {
      try {
        registryAccessFromSecret(secret, registry, 'ns/pull');
      } catch (error) {
        expect(error).toBeInstanceOf(RegistrySecretError);
        return (error as Error).message;
      }
      throw new Error('expected an error');
    };
    expect(fail(dockerConfig({ 'quay.io': { auth: b64('u:hunter2') } }))).toBe(
      'Secret ns/pull key .dockerconfigjson has no entry for ghcr.io',
    );
    expect(fail({ type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64('{hunter2') } })).toBe(
      'Secret ns/pull key .dockerconfigjson is not valid JSON',
    );
    expect(fail(dockerConfig({ 'ghcr.io': { auth: b64('nocolon-hunter2') } }))).toBe(
      'Secret ns/pull key .dockerconfigjson: the entry for ghcr.io has neither auth (user:password) nor username and password',
    );
    expect(fail({ type: 'kubernetes.io/dockerconfigjson', data: {} })).toBe(
      'Secret ns/pull: missing key .dockerconfigjson',
    );
    expect(fail({ type: 'kubernetes.io/basic-auth', stringData: { username: 'u' } })).toBe(
      'Secret ns/pull: a basic-auth Secret needs username and password',
    );
    expect(fail({ data: { token: b64('hunter2') } })).toBe(
      'Secret ns/pull: expected .dockerconfigjson, username and password, or ca.crt for ghcr.io',
    );
  });
});
