// The package Porch's PackageVariant tests start from: a Kptfile and the package context ConfigMap.

export const PORCH_KPTFILE = `apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: prr
  annotations:
    config.kubernetes.io/local-config: "true"
info:
  description: Example
`;

/** `package-context.yaml` with `data.name: example`, plus `extra` lines under `data`. */
export const porchContext = (extra = '') => `apiVersion: v1
kind: ConfigMap
metadata:
  name: kptfile.kpt.dev
  annotations:
    config.kubernetes.io/local-config: "true"
data:
  name: example
${extra}`;

/** The Kptfile and package context, plus `extra` files. */
export const porchPackage = (extra: Record<string, string> = {}): Map<string, Buffer> =>
  new Map(
    Object.entries({ Kptfile: PORCH_KPTFILE, 'package-context.yaml': porchContext(), ...extra }).map(([k, v]) => [
      k,
      Buffer.from(v),
    ]),
  );
