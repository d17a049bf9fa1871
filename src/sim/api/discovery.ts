import { createHash } from 'node:crypto';
import { groupVersion, RESOURCES, type ResourceType } from './resources.js';

/** One media type of an `Accept` header with its parameters. */
export interface MediaType {
  type: string;
  params: Record<string, string>;
}

/** Splits an `Accept` header into media types, in the client's order. */
export function parseAccept(header: string | undefined): MediaType[] {
  if (!header) return [{ type: '*/*', params: {} }];
  return header.split(',').map((part) => {
    const [type = '', ...rest] = part.split(';').map((s) => s.trim());
    const params: Record<string, string> = {};
    for (const p of rest) {
      const eq = p.indexOf('=');
      if (eq > 0) params[p.slice(0, eq).trim()] = p.slice(eq + 1).trim();
    }
    return { type: type.toLowerCase(), params };
  });
}

/** Which discovery format a request negotiated. */
export type DiscoveryFormat = 'v2' | 'v2beta1' | 'legacy';

/**
 * Walks the Accept list in order and picks the first format served, as the real API server does:
 * kubectl 1.27–1.29 offer only v2beta1, 1.30+ offer v2 first, and plain JSON means legacy discovery.
 */
export function negotiateDiscovery(accept: string | undefined): DiscoveryFormat | undefined {
  for (const m of parseAccept(accept)) {
    if (m.type === 'application/json' && m.params.g === 'apidiscovery.k8s.io') {
      if (m.params.as !== 'APIGroupDiscoveryList') continue;
      if (m.params.v === 'v2') return 'v2';
      if (m.params.v === 'v2beta1') return 'v2beta1';
      continue;
    }
    if (m.type === 'application/json' || m.type === '*/*' || m.type === 'application/*') return 'legacy';
  }
  return undefined;
}

/** The content type of an aggregated discovery response. */
export function discoveryContentType(format: 'v2' | 'v2beta1'): string {
  return `application/json;g=apidiscovery.k8s.io;v=${format};as=APIGroupDiscoveryList`;
}

interface GroupEntry {
  name: string;
  versions: { version: string; resources: ResourceType[] }[];
}

function groups(): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const r of RESOURCES) {
    let g = out.find((x) => x.name === r.group);
    if (!g) out.push((g = { name: r.group, versions: [] }));
    let v = g.versions.find((x) => x.version === r.version);
    if (!v) g.versions.push((v = { version: r.version, resources: [] }));
    v.resources.push(r);
  }
  return out;
}

function aggregatedResource(r: ResourceType): Record<string, unknown> {
  const out: Record<string, unknown> = {
    resource: r.plural,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: r.verbs,
  };
  if (r.shortNames) out.shortNames = r.shortNames;
  if (r.categories) out.categories = r.categories;
  if (r.subresources) {
    out.subresources = r.subresources.map((s) => ({
      subresource: s.name,
      responseKind: { group: s.group ?? r.group, version: s.version ?? r.version, kind: s.kind },
      verbs: s.verbs,
    }));
  }
  return out;
}

/** The aggregated discovery document for `/api` (core only) or `/apis` (named groups). */
export function aggregatedDiscovery(path: '/api' | '/apis', format: 'v2' | 'v2beta1'): unknown {
  const selected = groups().filter((g) => (path === '/api' ? g.name === '' : g.name !== ''));
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${format}`,
    metadata: {},
    items: selected.map((g) => ({
      metadata: { name: g.name, creationTimestamp: null },
      versions: g.versions.map((v) => ({
        version: v.version,
        resources: v.resources.map(aggregatedResource),
        freshness: 'Current',
      })),
    })),
  };
}

/** Legacy `/api`. */
export function legacyCoreVersions(serverAddress: string): unknown {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function legacyGroup(g: GroupEntry): Record<string, unknown> {
  const versions = g.versions.map((v) => ({ groupVersion: `${g.name}/${v.version}`, version: v.version }));
  return { name: g.name, versions, preferredVersion: versions[0] };
}

/** Legacy `/apis`. */
export function legacyGroupList(): unknown {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groups()
      .filter((g) => g.name !== '')
      .map(legacyGroup),
  };
}

/** Legacy `/apis/GROUP`, or undefined for an unknown group. */
export function legacyGroupDocument(name: string): unknown {
  const g = groups().find((x) => x.name === name && name !== '');
  return g ? { kind: 'APIGroup', apiVersion: 'v1', ...legacyGroup(g) } : undefined;
}

/** Legacy `/api/v1` or `/apis/G/V` resource list, or undefined for an unknown group version. */
export function legacyResourceList(group: string, version: string): unknown {
  const resources = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (resources.length === 0) return undefined;
  const list: Record<string, unknown>[] = [];
  for (const r of resources) {
    const entry: Record<string, unknown> = {
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
    };
    if (r.shortNames) entry.shortNames = r.shortNames;
    if (r.categories) entry.categories = r.categories;
    if (!r.isVirtual) entry.storageVersionHash = storageVersionHash(r);
    list.push(entry);
    for (const s of r.subresources ?? []) {
      const sub: Record<string, unknown> = {
        name: `${r.plural}/${s.name}`,
        singularName: '',
        namespaced: r.namespaced,
        kind: s.kind,
        verbs: s.verbs,
      };
      if (s.group !== undefined) sub.group = s.group;
      if (s.version !== undefined) sub.version = s.version;
      list.push(sub);
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupVersion({ group, version }),
    resources: list,
  };
}

function storageVersionHash(r: ResourceType): string {
  return createHash('sha256').update(`${r.group}/${r.version}/${r.kind}`).digest('base64').slice(0, 11);
}
