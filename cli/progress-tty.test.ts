// The progress line as a person sees it: `pvctl reconcile` in a real terminal (tmux), and piped.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { removeDir, tempDir } from '../lib/git/testing/repos.ts';
import { blueprint, packageVariant, repository, TestRepo } from '../controllers/testing/fixtures.ts';
import { runGit } from '../lib/git/exec.ts';

const PVCTL = join(import.meta.dirname, '..', 'bin', 'pvctl');
const VARIANTS = 20;
let root: string;
let manifests: string;
let deploy: TestRepo;
const socket = `pvctl-progress-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });

beforeAll(async () => {
  root = tempDir('pvctl-progress-');
  const upstream = await TestRepo.create(root, 'blueprints');
  await upstream.publish('nginx', blueprint('nginx'), 1);
  deploy = await TestRepo.create(root, 'deploy');
  const objects = [repository('blueprints', upstream.url), repository('deploy', deploy.url, true)];
  for (let i = 0; i < VARIANTS; i++) {
    objects.push(
      packageVariant(`site-${i}`, {
        upstream: { repo: 'blueprints', package: 'nginx' },
        downstream: { repo: 'deploy', package: `site-${i}` },
      }),
    );
  }
  manifests = join(root, 'fleet.yaml');
  writeFileSync(manifests, objects.map((o) => stringify(o)).join('---\n'));
});
afterAll(() => {
  try {
    tmux('kill-server');
  } catch {
    // already gone
  }
  removeDir(root);
});

describe('pvctl reconcile progress', () => {
  it('on a terminal: one line rewritten in place, left at the final count above the table', async () => {
    const command = `${PVCTL} reconcile -f ${manifests} --cache-dir ${join(root, 'tty-cache')}; tmux -L ${socket} wait-for -S done; sleep 60`;
    tmux('new-session', '-d', '-x', '200', '-y', '60', '-s', 'p', command);
    tmux('wait-for', 'done');
    const screen = tmux('capture-pane', '-p', '-S', '-', '-t', 'p');
    const progress = screen.split('\n').filter((l) => l.startsWith('reconciled '));
    expect(progress).toHaveLength(1);
    expect(progress[0]).toMatch(new RegExp(`^reconciled ${VARIANTS}/${VARIANTS} \\(\\d+\\.\\ds\\)$`));
    const lines = screen.split('\n');
    expect(lines.findIndex((l) => l.startsWith('reconciled '))).toBeLessThan(
      lines.findIndex((l) => l.startsWith('NAMESPACE')),
    );
    expect(screen).toContain(`${VARIANTS}/${VARIANTS} PackageVariant(s) ready`);
    // the run did what it says
    const drafts = (await runGit(['--git-dir', deploy.bare, 'for-each-ref', 'refs/heads/drafts/'])).stdout.toString();
    expect(drafts.trim().split('\n')).toHaveLength(VARIANTS);
  }, 120_000);

  it('piped, a short run prints no progress lines; -o json none either', () => {
    const run = (...extra: string[]) => {
      const r = spawnSync(PVCTL, ['reconcile', '-f', manifests, '--cache-dir', join(root, 'pipe-cache'), ...extra], {
        encoding: 'utf8',
      });
      return { stdout: r.stdout, stderr: r.stderr, status: r.status };
    };
    const table = run();
    expect(table).toMatchObject({ status: 0, stdout: expect.stringContaining('NAMESPACE') });
    expect(table.stderr).toMatch(
      new RegExp(`^${VARIANTS}/${VARIANTS} PackageVariant\\(s\\) ready in [\\d.]+s, 0 push\\(es\\)\\n$`),
    );
    const json = run('-o', 'json');
    expect(JSON.parse(json.stdout).items).toHaveLength(VARIANTS);
    expect(json.stderr).toBe('');
  }, 120_000);
});
