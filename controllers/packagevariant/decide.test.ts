// decide() and planCleanup() as tables: every lifecycle case from a plain observation, no git, no API.
import { describe, expect, it } from '@jest/globals';
import {
  defaultPackageVariantSpec,
  ROLLOUT_HOLD_ANNOTATION,
  type PackageVariant,
  type PackageVariantSpec,
} from '../../api/v1alpha1/index.ts';
import type { BatchOp } from '../../lib/git/batch.ts';
import type { PackageRevision } from '../../lib/git/store.ts';
import type { PackageFiles } from '../../lib/kpt/package.ts';
import type { Conflict } from '../../lib/merge/index.ts';
import { planCleanup } from './cleanup.ts';
import type { Content } from './content.ts';
import { decide } from './decide.ts';
import { classifyDownstream, ownerOf } from './downstream.ts';
import type { Observed } from './observe.ts';

const UID = '11111111-2222-3333-4444-555555555555';
const OTHER_UID = '99999999-2222-3333-4444-555555555555';
const C1 = '1'.repeat(40);
const C2 = '2'.repeat(40);
const kptfile = (name: string, extra = '') =>
  Buffer.from(`apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: ${name}\n${extra}`);
const pkg = (replicas: number, extra = ''): PackageFiles =>
  new Map([
    ['Kptfile', kptfile('east', extra)],
    ['deployment.yaml', Buffer.from(`kind: Deployment\nspec:\n  replicas: ${replicas}\n`)],
  ]);

function variant(spec: Partial<PackageVariantSpec> = {}, annotations?: Record<string, string>): PackageVariant {
  return {
    apiVersion: 'packagevariant.dev/v1alpha1',
    kind: 'PackageVariant',
    metadata: { name: 'east', namespace: 'default', uid: UID, ...(annotations ? { annotations } : {}) },
    spec: {
      upstream: { repo: 'blueprints', package: 'web' },
      downstream: { repo: 'deploy', package: 'east' },
      ...spec,
    },
  };
}

function revision(over: Partial<PackageRevision> & Pick<PackageRevision, 'lifecycle'>): PackageRevision {
  const draft = over.lifecycle === 'Draft' || over.lifecycle === 'Proposed';
  const workspace = over.workspace ?? (draft ? 'packagevariant-1' : 'packagevariant-1');
  const revisionNumber = over.revision ?? (draft ? 0 : 1);
  return {
    packagePath: 'east',
    packageName: 'east',
    workspace,
    revision: revisionNumber,
    ref: draft ? `refs/heads/drafts/east/${workspace}` : `refs/tags/east/v${revisionNumber}`,
    commit: C1,
    tree: 't'.repeat(40),
    owner: { namespace: 'default', name: 'east', uid: UID },
    ...(draft ? { foreignCommits: [] } : {}),
    ...over,
  };
}

interface Case {
  pv?: PackageVariant;
  revisions?: PackageRevision[];
  /** The base's files (the variant's draft, else the latest published revision). */
  base?: PackageFiles;
  /** What the content pipeline produced; `base` itself when it changed nothing. */
  content?: Partial<Content> & { files?: PackageFiles };
  elsewhere?: PackageRevision[];
  branchMoved?: boolean;
  fileInTheWay?: string;
  rivals?: string[];
}

function observe(c: Case): { observed: Observed; content: Content } {
  const pv = c.pv ?? variant();
  const spec = defaultPackageVariantSpec(pv.spec!);
  const downstream = classifyDownstream(c.revisions ?? [], ownerOf(pv), spec.adoptionPolicy === 'adoptExisting');
  const baseRevision = downstream.drafts[0] ?? downstream.published;
  const base =
    c.base && baseRevision ? { revision: baseRevision, content: { files: c.base, modes: new Map() } } : undefined;
  const observed: Observed = {
    pv,
    key: 'default/east',
    spec,
    owner: ownerOf(pv),
    downRepo: { apiVersion: 'packagevariant.dev/v1alpha1', kind: 'Repository', metadata: { name: 'deploy' } },
    downStore: undefined as never, // decide never touches git
    packageName: 'east',
    packagePath: 'east',
    upstream: {
      source: undefined as never,
      packageName: 'web',
      commit: C2,
      tree: 'u'.repeat(40),
      revision: 2,
      lock: { repo: 'file:///blueprints', directory: 'web', ref: 'web/v2', commit: C2 },
      watch: { repo: 'file:///blueprints', package: 'web', track: 'latest' },
    },
    downstream,
    ...(base ? { base } : {}),
    injection: new Map(),
    elsewhere: c.elsewhere ?? [],
    branchMoved: c.branchMoved ?? false,
    ...(c.fileInTheWay ? { fileInTheWay: c.fileInTheWay } : {}),
    rivals: c.rivals ?? [],
  };
  const content: Content = {
    files: c.content?.files ?? c.base ?? pkg(1),
    modes: new Map(),
    task: c.content?.task ?? (base ? 'edit' : 'clone'),
    conflicts: c.content?.conflicts ?? (baseRevision?.conflicts as Conflict[] | undefined) ?? [],
    upstreamCommit: C2,
    injections: [],
    ...c.content,
  };
  return { observed, content };
}

const kinds = (ops: BatchOp[]) => ops.map((op) => `${op.kind} ${'workspace' in op ? op.workspace : ''}`.trim());
const conflict: Conflict = {
  file: 'deployment.yaml',
  resource: 'Deployment east',
  field: 'spec.template.spec.containers[name=web].image',
  original: 'web:1.0',
  updated: 'web:2.0',
  local: 'web:1.0-site',
  winner: 'upstream',
};

describe('decide', () => {
  it('clone: no downstream yet → a new draft packagevariant-1', () => {
    const { observed, content } = observe({ content: { files: pkg(1), task: 'clone' } });
    const d = decide(observed, content);
    expect(kinds(d.ops)).toEqual(['createDraft packagevariant-1']);
    expect(d.write).toMatchObject({ kind: 'created', task: 'clone' });
    expect(d.events.map((e) => e.reason)).toEqual(['DraftCreated']);
    expect(d.targets).toEqual([
      expect.objectContaining({ name: 'deploy.east.packagevariant-1', lifecycle: 'Draft', upstreamCommit: C2 }),
    ]);
    expect(d.ops[0]).toMatchObject({ task: { type: 'clone' }, owner: { uid: UID } });
  });

  it('upgrade: a published base and new upstream content → a new draft after the highest workspace', () => {
    const { observed, content } = observe({
      revisions: [revision({ lifecycle: 'Published', revision: 1, workspace: 'packagevariant-1' })],
      base: pkg(1),
      content: { files: pkg(2), task: 'upgrade' },
    });
    const d = decide(observed, content);
    expect(kinds(d.ops)).toEqual(['createDraft packagevariant-2']);
    expect(d.ops[0]).toMatchObject({ task: { type: 'upgrade' } });
  });

  it('edit, nothing changed: no write; status names the published revision', () => {
    const base = pkg(1);
    const { observed, content } = observe({ revisions: [revision({ lifecycle: 'Published' })], base });
    const d = decide(observed, content);
    expect(d.ops).toEqual([]);
    expect(d.targets).toEqual([expect.objectContaining({ lifecycle: 'Published', ref: 'east/v1' })]);
  });

  it('edit, mutations changed the published base → an edit draft', () => {
    const { observed, content } = observe({
      revisions: [revision({ lifecycle: 'Published' })],
      base: pkg(1),
      content: { files: pkg(1, 'info:\n  description: labelled\n'), task: 'edit' },
    });
    expect(kinds(decide(observed, content).ops)).toEqual(['createDraft packagevariant-2']);
  });

  it('recompute: the variant has a draft and the content moved → the draft is updated in place, leased on its head', () => {
    const { observed, content } = observe({
      revisions: [revision({ lifecycle: 'Draft', commit: C1 })],
      base: pkg(1),
      content: { files: pkg(3), task: 'upgrade' },
    });
    const d = decide(observed, content);
    expect(kinds(d.ops)).toEqual(['updateDraft packagevariant-1']);
    expect(d.ops[0]).toMatchObject({ expectedCommit: C1 });
    expect(d.events.map((e) => e.reason)).toEqual(['DraftUpdated']);
  });

  it('a Proposed draft is never rewritten', () => {
    const { observed, content } = observe({
      revisions: [revision({ lifecycle: 'Proposed' })],
      base: pkg(1),
      content: { files: pkg(3), task: 'upgrade' },
    });
    expect(decide(observed, content).ops).toEqual([]);
  });

  it('held: a rollout hold stops an upgrade (no write, UpgradeHeld message) but not an edit', () => {
    const held = variant({}, { [ROLLOUT_HOLD_ANNOTATION]: 'stage 2 of 3' });
    const upgrade = observe({
      pv: held,
      revisions: [revision({ lifecycle: 'Published' })],
      base: pkg(1),
      content: { files: pkg(2), task: 'upgrade' },
    });
    const d = decide(upgrade.observed, upgrade.content);
    expect(d.ops).toEqual([]);
    expect(d.held).toBe('upgrade waits: stage 2 of 3');
    expect(d.outdated).toBe(true);
    const edit = observe({
      pv: held,
      revisions: [revision({ lifecycle: 'Published' })],
      base: pkg(1),
      content: { files: pkg(1, 'info:\n  description: x\n'), task: 'edit' },
    });
    expect(kinds(decide(edit.observed, edit.content).ops)).toEqual(['createDraft packagevariant-2']);
  });

  it('conflict: recorded in the commit, reported, and never published automatically', () => {
    const { observed, content } = observe({
      pv: variant({ publishPolicy: 'Automatic' }),
      revisions: [revision({ lifecycle: 'Published' })],
      base: pkg(1),
      content: { files: pkg(2), task: 'upgrade', conflicts: [conflict] },
    });
    const d = decide(observed, content);
    expect(d.ops[0]).toMatchObject({ kind: 'createDraft', conflicts: [conflict] });
    expect((d.ops[0] as { body: string }).body).toMatch(/^Merge conflicts \(1\)/);
    expect(d.publish).toBeUndefined();
    expect(d.withheld).toMatch(/not published automatically: the draft has 1 merge conflict/);
    expect(d.events.map((e) => e.reason)).toEqual(['DraftCreated', 'MergeConflicts', 'PublishWithheld']);
    expect(d.targets[0]?.conflicts).toHaveLength(1);
  });

  it('a rerun over a conflicted draft (conflicts from git, no status) publishes nothing and announces nothing', () => {
    const base = pkg(2);
    const { observed, content } = observe({
      pv: variant({ publishPolicy: 'Automatic' }),
      revisions: [revision({ lifecycle: 'Draft', conflicts: [conflict] })],
      base,
    });
    const d = decide(observed, content);
    expect(d.ops).toEqual([]);
    expect(d.publish).toBeUndefined();
    expect(d.withheld).toMatch(/merge conflict/);
    expect(d.events).toEqual([]);
    expect(d.targets[0]?.conflicts).toHaveLength(1);
  });

  it('Automatic: a clean new draft is published with the write, an unchanged one on its head', () => {
    const fresh = observe({ pv: variant({ publishPolicy: 'Automatic' }), content: { files: pkg(1), task: 'clone' } });
    expect(decide(fresh.observed, fresh.content).publish).toEqual({ workspace: 'packagevariant-1' });
    const pending = observe({
      pv: variant({ publishPolicy: 'Automatic' }),
      revisions: [revision({ lifecycle: 'Draft', commit: C1 })],
      base: pkg(1),
    });
    expect(decide(pending.observed, pending.content).publish).toEqual({
      workspace: 'packagevariant-1',
      expectedCommit: C1,
    });
  });

  it("Automatic withholds a draft carrying a person's commits, or one the deployment branch moved past", () => {
    const foreign = observe({
      pv: variant({ publishPolicy: 'Automatic' }),
      revisions: [revision({ lifecycle: 'Draft', foreignCommits: [C2] })],
      base: pkg(1),
    });
    expect(decide(foreign.observed, foreign.content)).toMatchObject({
      withheld: expect.stringMatching(/carries 1 commit\(s\) the controller did not write/),
    });
    const moved = observe({
      pv: variant({ publishPolicy: 'Automatic' }),
      revisions: [revision({ lifecycle: 'Draft' })],
      base: pkg(1),
      branchMoved: true,
    });
    expect(decide(moved.observed, moved.content).withheld).toMatch(/deployment branch/);
  });

  it('not owned: a published package someone else made → Stalled DownstreamNotOwned, nothing written', () => {
    const { observed, content } = observe({
      revisions: [revision({ lifecycle: 'Published', owner: { namespace: 'default', name: 'x', uid: OTHER_UID } })],
      base: pkg(1),
      content: { files: pkg(2), task: 'upgrade' },
    });
    const d = decide(observed, content);
    expect(d.stalled?.reason).toBe('DownstreamNotOwned');
    expect(d.ops).toEqual([]);
  });

  it('a file where the package would go, or an older variant on the same package → Stalled, nothing written', () => {
    const file = observe({ fileInTheWay: 'east', content: { files: pkg(1), task: 'clone' } });
    expect(decide(file.observed, file.content)).toMatchObject({ ops: [], stalled: { reason: 'InvalidDownstream' } });
    const rival = observe({ rivals: ['west'], content: { files: pkg(1), task: 'clone' } });
    expect(decide(rival.observed, rival.content)).toMatchObject({
      ops: [],
      stalled: { reason: 'DownstreamConflict', message: expect.stringContaining('PackageVariant west') },
    });
  });

  it('adopt: with adoptExisting the foreign draft is the variant’s and is updated', () => {
    const { observed, content } = observe({
      pv: variant({ adoptionPolicy: 'adoptExisting' }),
      revisions: [revision({ lifecycle: 'Draft', workspace: 'theirs' }), revision({ lifecycle: 'Published' })].map(
        (r) => ({ ...r, owner: { namespace: 'default', name: 'x', uid: OTHER_UID } }),
      ),
      base: pkg(1),
      content: { files: pkg(2), task: 'upgrade' },
    });
    const d = decide(observed, content);
    expect(d.stalled).toBeUndefined();
    expect(kinds(d.ops)).toEqual(['updateDraft theirs']);
  });

  it('extra drafts: a clean one is deleted, one with foreign commits kept, reported and listed', () => {
    const { observed, content } = observe({
      revisions: [
        revision({ lifecycle: 'Draft', workspace: 'packagevariant-1' }),
        revision({ lifecycle: 'Draft', workspace: 'packagevariant-2' }),
        revision({ lifecycle: 'Draft', workspace: 'packagevariant-3', foreignCommits: [C2] }),
      ],
      base: pkg(1),
    });
    const d = decide(observed, content);
    expect(kinds(d.ops)).toEqual(['deleteDraft packagevariant-2']);
    expect(d.kept.map((k) => k.workspace)).toEqual(['packagevariant-3']);
    expect(d.events.map((e) => e.reason)).toEqual(['DraftKept']);
    expect(d.targets.map((t) => t.name)).toEqual(['deploy.east.packagevariant-1', 'deploy.east.packagevariant-3']);
  });

  it('downstream package changed: the old package’s drafts deleted, published proposed for deletion; orphan leaves them', () => {
    const elsewhere = [
      revision({ lifecycle: 'Draft', packagePath: 'old', packageName: 'old', workspace: 'packagevariant-2' }),
      revision({ lifecycle: 'Draft', packagePath: 'old', packageName: 'old', workspace: 'mine', foreignCommits: [C2] }),
      revision({ lifecycle: 'Published', packagePath: 'old', packageName: 'old', revision: 1 }),
    ];
    const del = observe({ elsewhere, content: { files: pkg(1), task: 'clone' } });
    const d = decide(del.observed, del.content);
    expect(kinds(d.ops)).toEqual(['createDraft packagevariant-1', 'deleteDraft packagevariant-2', 'proposeDelete']);
    expect(d.kept.map((k) => k.workspace)).toEqual(['mine']);
    expect(d.targets).toHaveLength(1);
    const orphan = observe({
      pv: variant({ deletionPolicy: 'orphan' }),
      elsewhere,
      content: { files: pkg(1), task: 'clone' },
    });
    expect(kinds(decide(orphan.observed, orphan.content).ops)).toEqual(['createDraft packagevariant-1']);
  });
});

describe('planCleanup (deletionPolicy delete)', () => {
  const owner = { namespace: 'default', name: 'east', uid: UID };
  it('deletes owned drafts, proposes owned published revisions, keeps foreign-committed drafts, ignores others', () => {
    const plan = planCleanup(
      [
        revision({ lifecycle: 'Draft', workspace: 'packagevariant-2' }),
        revision({ lifecycle: 'Proposed', workspace: 'packagevariant-3' }),
        revision({ lifecycle: 'Draft', workspace: 'packagevariant-4', foreignCommits: [C2] }),
        revision({ lifecycle: 'Published', revision: 1 }),
        revision({ lifecycle: 'DeletionProposed', revision: 2 }),
        revision({
          lifecycle: 'Draft',
          workspace: 'theirs',
          owner: { namespace: 'default', name: 'x', uid: OTHER_UID },
        }),
      ],
      owner,
      'east',
    );
    expect(kinds(plan.ops)).toEqual(['deleteDraft packagevariant-2', 'deleteDraft packagevariant-3', 'proposeDelete']);
    expect(plan.kept.map((k) => k.workspace)).toEqual(['packagevariant-4']);
  });
});
