import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { PackageModes } from '../kpt/package.ts';
import { sha256 } from './client.ts';
import { packageTar, packPackage, PACKAGE_MEDIA_TYPES, PackageFormatError, unpackLayers } from './package.ts';

/** One raw tar header + content, built here independently of tar.ts. */
function raw(name: string, type: string, options: { content?: Buffer; link?: string; mode?: number } = {}): Buffer {
  const content = options.content ?? Buffer.alloc(0);
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(`${(options.mode ?? 0o644).toString(8).padStart(7, '0')}\0`, 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${content.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write('00000000000\0', 136, 'latin1');
  h.write(type, 156, 'latin1');
  if (options.link) h.write(options.link, 157, 100, 'utf8');
  h.write('ustar\u000000', 257, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  const pad = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([h, content, pad]);
}
const archive = (...entries: Buffer[]) => Buffer.concat([...entries, Buffer.alloc(1024)]);
const file = (name: string, text = 'x', mode = 0o644) => raw(name, '0', { content: Buffer.from(text), mode });

const pkg = () => {
  const files = new Map([
    ['Kptfile', Buffer.from('apiVersion: kpt.dev/v1\nkind: Kptfile\n')],
    ['deploy/app.yaml', Buffer.from('kind: ConfigMap\n')],
    ['bin/run.sh', Buffer.from('#!/bin/sh\necho hi\n')],
    [`long/${'d'.repeat(120)}/name.yaml`, Buffer.from('long\n')],
    ['ünï cödé.yaml', Buffer.from('utf8\n')],
  ]);
  const modes: PackageModes = new Map([
    ['bin/run.sh', { kind: 'executable' }],
    ['deploy/link.yaml', { kind: 'symlink', target: Buffer.from('app.yaml') }],
  ]);
  return { files, modes };
};

describe('packing', () => {
  it('round-trips files, executable bits, symlinks, long and non-ASCII names', () => {
    const packed = packPackage(pkg());
    const back = unpackLayers([packed.layer]);
    expect(back.files).toEqual(
      new Map([...pkg().files].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))),
    );
    expect(back.modes).toEqual(pkg().modes);
  });

  it('is deterministic: sorted entries, fixed times, the same digest twice', () => {
    const a = packPackage(pkg());
    const reversed = { files: new Map([...pkg().files].reverse()), modes: new Map([...pkg().modes].reverse()) };
    const b = packPackage(reversed);
    expect(b.digest).toBe(a.digest);
    expect(b.layer.equals(a.layer)).toBe(true);
    const manifest = JSON.parse(a.manifest.toString()) as { layers: Array<{ mediaType: string; digest: string }> };
    expect(manifest.layers).toHaveLength(1);
    expect(manifest.layers[0]).toMatchObject({ mediaType: PACKAGE_MEDIA_TYPES.layer, digest: sha256(a.layer) });
    const config = JSON.parse(a.config.toString()) as { rootfs: { diff_ids: string[] } };
    expect(config.rootfs.diff_ids).toEqual([sha256(gunzipSync(a.layer))]);
  });

  it('writes a tar that GNU tar reads (names, modes, link, time 0)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oci-pack-'));
    try {
      writeFileSync(join(dir, 'p.tar'), packageTar(pkg()));
      const listing = execFileSync('tar', ['-tvf', join(dir, 'p.tar'), '--numeric-owner'], { encoding: 'utf8' });
      expect(listing).toMatch(/-rwxr-xr-x 0\/0 .* 1970-01-01 00:00 bin\/run\.sh/);
      expect(listing).toContain('deploy/link.yaml -> app.yaml');
      expect(listing).toContain(`long/${'d'.repeat(120)}/name.yaml`);
      expect(listing).toContain('ünï cödé.yaml');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses symlinks out of the package and gitlinks', () => {
    const out = {
      files: new Map(),
      modes: new Map([['a/l', { kind: 'symlink' as const, target: Buffer.from('../../etc') }]]),
    };
    expect(() => packPackage(out)).toThrow(/points outside the package/);
    const gitlink = {
      files: new Map(),
      modes: new Map([['sub', { kind: 'gitlink' as const, commit: 'a'.repeat(40) }]]),
    };
    expect(() => packPackage(gitlink)).toThrow(/submodule/);
  });
});

describe('unpacking', () => {
  it('reads a gzip tar made by GNU tar from a directory (./ prefixes, directories, modes)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oci-gnu-'));
    try {
      const root = join(dir, 'pkg');
      mkdirSync(join(root, 'sub'), { recursive: true });
      writeFileSync(join(root, 'Kptfile'), 'kind: Kptfile\n');
      writeFileSync(join(root, 'sub', 'x.sh'), 'echo\n');
      chmodSync(join(root, 'sub', 'x.sh'), 0o755);
      symlinkSync('x.sh', join(root, 'sub', 'y'));
      execFileSync('tar', ['-C', root, '-czf', join(dir, 'p.tgz'), '.']);
      const plain = execFileSync('tar', ['-C', root, '-cf', '-', '.']);
      for (const layer of [readFileSync(join(dir, 'p.tgz')), plain]) {
        const got = unpackLayers([layer]);
        expect([...got.files.keys()]).toEqual(['Kptfile', 'sub/x.sh']);
        expect(got.modes.get('sub/x.sh')).toEqual({ kind: 'executable' });
        expect(got.modes.get('sub/y')).toEqual({ kind: 'symlink', target: Buffer.from('x.sh') });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lays later layers over earlier ones', () => {
    const got = unpackLayers([gzipSync(archive(file('a', '1'), file('b', '1'))), archive(file('a', '2'))]);
    expect(got.files.get('a')!.toString()).toBe('2');
    expect(got.files.get('b')!.toString()).toBe('1');
  });

  it.each([
    ['a ".." segment', archive(file('../evil', 'x'))],
    ['a ".." segment', archive(file('a/../../evil', 'x'))],
    ['an absolute path', archive(file('/etc/passwd', 'x'))],
    ['a hard link', archive(file('a'), raw('b', '1', { link: 'a' }))],
    ['a device', archive(raw('dev', '3'))],
    ['a device', archive(raw('blk', '4'))],
    ['a fifo', archive(raw('pipe', '6'))],
    ['outside the package', archive(raw('l', '2', { link: '../x' }))],
    ['outside the package', archive(raw('a/l', '2', { link: '/etc/passwd' }))],
    ['outside the package', archive(raw('a/b/l', '2', { link: '../../..' }))],
    ['which is a symlink', archive(raw('d', '2', { link: 'e' }), file('d/x'))],
    ['which is a file', archive(file('d'), file('d/x'))],
    ['appears twice', archive(file('a'), file('a'))],
    ['a ".git" segment', archive(file('.git/config'))],
    ['a whiteout', archive(file('.wh.a'))],
    ['unsupported entry type', archive(raw('s', 'S'))],
    [
      'bad header checksum',
      (() => {
        const t = archive(file('a'));
        t[0] = 0x62;
        return t;
      })(),
    ],
    ['truncated', archive(file('a', 'x'.repeat(600))).subarray(0, 700)],
  ])('refuses %s', (why, tar) => {
    expect(() => unpackLayers([tar])).toThrow(PackageFormatError);
    expect(() => unpackLayers([tar])).toThrow(why);
    expect(() => unpackLayers([gzipSync(tar)])).toThrow(why);
  });

  it('refuses a PAX path with ".." (the long name is what counts)', () => {
    const record = (k: string, v: string) => {
      const body = ` ${k}=${v}\n`;
      let n = body.length + 2;
      if (String(n).length + body.length !== n) n = String(n).length + body.length;
      return `${n}${body}`;
    };
    const pax = Buffer.from(record('path', '../../escape'));
    expect(() => unpackLayers([archive(raw('PaxHeader', 'x', { content: pax }), file('harmless'))])).toThrow(
      /"\.\." segment/,
    );
  });

  it('enforces the size limit (compressed bombs too) and the entry limit', () => {
    const big = archive(file('big', 'x'.repeat(10_000)));
    expect(() => unpackLayers([big], { maxBytes: 5_000 })).toThrow(/limit of 5000/);
    const bomb = gzipSync(
      Buffer.concat([raw('z', '0', { content: Buffer.alloc(50 * 1024 * 1024) }), Buffer.alloc(1024)]),
    );
    expect(bomb.length).toBeLessThan(100 * 1024);
    expect(() => unpackLayers([bomb], { maxBytes: 1024 * 1024 })).toThrow(PackageFormatError);
    expect(() => unpackLayers([archive(file('a'), file('b'), file('c'))], { maxEntries: 2 })).toThrow(
      /more than 2 entries/,
    );
  });
});
