// CustomResourceDefinitions generated from the schemas in this folder (scripts/gen-crds.ts writes
// them to config/crd/bases/).
import type { TSchema } from '@sinclair/typebox';
import { GROUP, VERSION } from './common.ts';
import { PACKAGE_VARIANT_KIND, PackageVariantSchema } from './packagevariant.ts';
import { PACKAGE_VARIANT_SET_KIND, PackageVariantSetSchema } from './packagevariantset.ts';
import { REPOSITORY_KIND, RepositorySchema } from './repository.ts';
import { toOpenAPI } from './schema.ts';

interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  priority?: number;
}

interface CrdSource {
  kind: string;
  plural: string;
  shortNames: string[];
  schema: TSchema;
  description: string;
  columns: PrinterColumn[];
}

const ready: PrinterColumn = {
  name: 'Ready',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
};
const reason: PrinterColumn = {
  name: 'Status',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
};
const message: PrinterColumn = {
  name: 'Message',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].message',
  priority: 1,
};
const suspended: PrinterColumn = { name: 'Suspended', type: 'boolean', jsonPath: '.spec.suspend', priority: 1 };
const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

export const CRD_SOURCES: CrdSource[] = [
  {
    kind: PACKAGE_VARIANT_KIND,
    plural: 'packagevariants',
    shortNames: ['pvar'],
    schema: PackageVariantSchema,
    description: 'Keeps one downstream package in step with an upstream package.',
    columns: [
      ready,
      reason,
      { name: 'Upstream', type: 'string', jsonPath: '.spec.upstream.package' },
      { name: 'Downstream', type: 'string', jsonPath: '.spec.downstream.package' },
      // The first target is the revision the variant works on: its draft, else the published one.
      { name: 'Lifecycle', type: 'string', jsonPath: '.status.downstreamTargets[0].lifecycle' },
      { name: 'Upstream-Repo', type: 'string', jsonPath: '.spec.upstream.repo', priority: 1 },
      { name: 'Downstream-Repo', type: 'string', jsonPath: '.spec.downstream.repo', priority: 1 },
      { name: 'Behind', type: 'integer', jsonPath: '.status.upstream.behind' },
      suspended,
      message,
      age,
    ],
  },
  {
    kind: PACKAGE_VARIANT_SET_KIND,
    plural: 'packagevariantsets',
    shortNames: ['pvset'],
    schema: PackageVariantSetSchema,
    description: 'Fans one upstream package out to a fleet of PackageVariants.',
    columns: [
      ready,
      reason,
      { name: 'Upstream', type: 'string', jsonPath: '.spec.upstream.package' },
      { name: 'Variants', type: 'integer', jsonPath: '.status.variants.total' },
      { name: 'Up-To-Date', type: 'integer', jsonPath: '.status.variants.upToDate' },
      { name: 'Stage', type: 'string', jsonPath: '.status.rollout.currentStage', priority: 1 },
      { name: 'Upstream-Repo', type: 'string', jsonPath: '.spec.upstream.repo', priority: 1 },
      suspended,
      message,
      age,
    ],
  },
  {
    kind: REPOSITORY_KIND,
    plural: 'repositories',
    shortNames: ['pvrepo'],
    schema: RepositorySchema,
    description: 'A git repository holding kpt packages.',
    columns: [
      ready,
      reason,
      { name: 'Deployment', type: 'boolean', jsonPath: '.spec.deployment' },
      { name: 'Address', type: 'string', jsonPath: '.spec.git.repo' },
      { name: 'Branch', type: 'string', jsonPath: '.spec.git.branch', priority: 1 },
      { name: 'Registry', type: 'string', jsonPath: '.spec.oci.registry', priority: 1 },
      message,
      age,
    ],
  },
];

export function buildCrd(source: CrdSource): Record<string, unknown> {
  const schema = { ...toOpenAPI(source.schema), description: source.description };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${source.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: {
        kind: source.kind,
        listKind: `${source.kind}List`,
        plural: source.plural,
        singular: source.kind.toLowerCase(),
        shortNames: source.shortNames,
        categories: ['packagevariant'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: source.columns,
          schema: { openAPIV3Schema: schema },
        },
      ],
    },
  };
}

export function crdFileName(source: CrdSource): string {
  return `${GROUP}_${source.plural}.yaml`;
}
