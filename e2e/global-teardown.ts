// Jest globalTeardown of the e2e project: stops the control plane started by global-setup.ts.
export default async function globalTeardown(): Promise<void> {
  const env = globalThis.__PVC_TESTENV__;
  globalThis.__PVC_TESTENV__ = undefined;
  await env?.stop();
}
