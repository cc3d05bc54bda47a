// Valid objects of the three kinds, shaped like the project's samples.
import { API_VERSION } from './helpers.ts';

export function packageVariant(name: string) {
  return {
    apiVersion: API_VERSION,
    kind: 'PackageVariant',
    metadata: { name },
    spec: {
      upstream: { repo: 'blueprints', package: 'basens', revision: 1 },
      downstream: { repo: 'deployments', package: `${name}-ns` },
      adoptionPolicy: 'adoptExisting',
      deletionPolicy: 'delete',
      labels: { team: 'platform' },
      packageContext: { data: { region: 'eu-west-1' } },
    },
  };
}

export function packageVariantSet(name: string) {
  return {
    apiVersion: API_VERSION,
    kind: 'PackageVariantSet',
    metadata: { name },
    spec: {
      upstream: { repo: 'blueprints', package: 'basens', revision: 2 },
      targets: [
        { repositories: [{ name: 'edge-1', packageNames: ['app-a', 'app-b'] }] },
        { repositorySelector: { matchLabels: { env: 'prod' } } },
      ],
    },
  };
}

export function repository(name: string) {
  return {
    apiVersion: API_VERSION,
    kind: 'Repository',
    metadata: { name, labels: { env: 'prod' } },
    spec: {
      type: 'git',
      content: 'Package',
      deployment: true,
      git: { repo: 'https://git.example.com/deployments.git', branch: 'main', directory: '/' },
    },
  };
}
