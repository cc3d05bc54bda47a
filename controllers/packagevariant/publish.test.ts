import { describe, expect, it } from '@jest/globals';
import { ROLLOUT_HOLD_ANNOTATION, type PackageVariant } from '../../api/v1alpha1/index.ts';
import { approveOp, heldDraft, publishDecision, readinessGates, rolloutHold } from './publish.ts';

const kptfile = (extra = '') =>
  new Map([['Kptfile', Buffer.from(`apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: app\n${extra}`)]]);
const gated =
  'info:\n  readinessGates:\n    - conditionType: config.injection.ConfigMap.db\n    - conditionType: tested\n' +
  'status:\n  conditions:\n    - type: config.injection.ConfigMap.db\n      status: "True"\n      reason: ConfigInjected\n' +
  '    - type: tested\n      status: "False"\n      reason: NotYet\n';
const pv = (
  spec: Partial<NonNullable<PackageVariant['spec']>> = {},
  annotations?: Record<string, string>,
): PackageVariant => ({
  metadata: { name: 'v', ...(annotations ? { annotations } : {}) },
  spec: { upstream: { repo: 'u', package: 'p' }, downstream: { repo: 'd', package: 'p' }, ...spec },
});

describe('rollout hold', () => {
  it('holds clones and upgrades, never edits, and only with the annotation', () => {
    expect(rolloutHold(pv())).toBeUndefined();
    const held = pv({}, { [ROLLOUT_HOLD_ANNOTATION]: 'stage "prod" waits for stage "canary"' });
    expect(heldDraft(held, 'upgrade')).toBe('stage "prod" waits for stage "canary"');
    expect(heldDraft(held, 'clone')).toBe('stage "prod" waits for stage "canary"');
    expect(heldDraft(held, 'edit')).toBeUndefined();
    expect(heldDraft(pv({}, { [ROLLOUT_HOLD_ANNOTATION]: '' }), 'upgrade')).toBe('held by a rollout');
  });
});

describe('readiness gates', () => {
  it('lists gates and the ones whose condition is not True', () => {
    expect(readinessGates(kptfile())).toEqual({ gates: [], pending: [] });
    expect(readinessGates(kptfile(gated))).toEqual({
      gates: ['config.injection.ConfigMap.db', 'tested'],
      pending: ['tested'],
    });
    expect(readinessGates(kptfile('info:\n  readinessGates:\n    - conditionType: missing\n')).pending).toEqual([
      'missing',
    ]);
  });
});

describe('publishDecision', () => {
  it('Manual (default) never publishes', () => {
    expect(publishDecision(pv(), { files: kptfile(), conflicts: 0 })).toEqual({
      publish: false,
      reason: 'publishPolicy is Manual',
    });
  });

  it('Automatic publishes a clean draft whose gates are True', () => {
    const auto = pv({ publishPolicy: 'Automatic' });
    expect(publishDecision(auto, { files: kptfile(), conflicts: 0 })).toEqual({ publish: true });
    expect(publishDecision(auto, { files: kptfile(), conflicts: 2 })).toEqual({
      publish: false,
      reason: 'the draft has 2 merge conflict(s)',
    });
    expect(publishDecision(auto, { files: kptfile(gated), conflicts: 0 })).toEqual({
      publish: false,
      reason: 'readiness gates not True: tested',
    });
    const allTrue = gated.replace('status: "False"', 'status: "True"');
    expect(publishDecision(auto, { files: kptfile(allTrue), conflicts: 0 })).toEqual({ publish: true });
  });

  it('approveOp leases the commit the decision saw', () => {
    expect(approveOp('p', 'packagevariant-1', 'a'.repeat(40))).toEqual({
      kind: 'approve',
      packageName: 'p',
      workspace: 'packagevariant-1',
      expectedCommit: 'a'.repeat(40),
    });
  });
});
