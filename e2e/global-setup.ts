// Jest globalSetup of the e2e project: one control plane for the whole run, with the CRDs installed.
// Tests find it through TESTENV_KUBECONFIG / TESTENV_RESTRICTED_KUBECONFIG.
import { installCrds, PROJECT_CRD_DIR } from './testenv/crds.ts';
import { ensureBinaries, startTestEnv } from './testenv/testenv.ts';
import type { TestEnv } from './testenv/testenv.ts';

declare global {
  var __PVC_TESTENV__: TestEnv | undefined;
}

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  // Specs that need a control plane of their own (informer restart) reuse the same binaries.
  process.env.TESTENV_BIN_DIR = ensureBinaries();
  const env = await startTestEnv({ binDir: process.env.TESTENV_BIN_DIR });
  globalThis.__PVC_TESTENV__ = env;
  try {
    const crds = await installCrds(env.kubeConfig(), PROJECT_CRD_DIR);
    process.env.TESTENV_KUBECONFIG = env.kubeconfigPath;
    process.env.TESTENV_RESTRICTED_KUBECONFIG = env.restrictedKubeconfigPath;
    process.env.TESTENV_CRDS = crds.join(',');
    console.log(
      `\ntestenv: kube-apiserver at ${env.server} ready with ${crds.length} CRDs in ${Date.now() - started} ms`,
    );
  } catch (err) {
    await env.stop();
    throw err;
  }
}
