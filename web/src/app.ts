/**
 * The Healwatch dashboard: a self-healing map, findings, history, metrics, nodes and workloads, kept live
 * by the server's event stream. Plain DOM (every cluster string goes in as text, never as HTML), no
 * framework, every asset served by Healwatch itself. The API token, when the server needs one, is asked
 * once and kept in sessionStorage.
 */

type Colour = 'red' | 'amber' | 'green' | 'grey';
type Attrs = Record<string, string | number | boolean | ((e: Event) => void) | undefined>;
type Child = Node | string | number | null | undefined | false | Child[];

/** Builds an element; strings become text nodes. */
function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  const add = (c: Child): void => {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) c.forEach(add);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  };
  children.forEach(add);
  return el;
}

/** Replaces an element's children (null, false and undefined are skipped). */
function fill(el: HTMLElement, ...children: Child[]): void {
  el.replaceChildren(...h('div', {}, ...children).childNodes);
}

const dot = (c: Colour): HTMLElement => h('span', { class: `dot ${c}`, 'aria-hidden': 'true' });
const COLOUR_WORD: Record<Colour, string> = {
  red: 'broken',
  amber: 'at risk',
  green: 'healthy',
  grey: 'not observed',
};
const badge = (level: string): HTMLElement =>
  h(
    'span',
    { class: `badge ${level === 'alert' ? 'red' : level === 'notice' ? 'amber' : 'grey'}` },
    level.toUpperCase(),
  );

// --- API -----------------------------------------------------------------------------------------------

const TOKEN_KEY = 'healwatch.token';

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = new Headers(init.headers);
  if (token) headers.set('Authorization', `Bearer ${token}`);
  if (init.body) headers.set('Content-Type', 'application/json');
  const res = await fetch(path, { ...init, headers });
  if (res.status === 401) {
    await askToken(token !== null);
    return api<T>(path, init);
  }
  const body = (await res.json().catch(() => ({}))) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

let asking: Promise<void> | undefined;
function askToken(refused: boolean): Promise<void> {
  asking ??= new Promise<void>((resolve) => {
    const dialog = document.getElementById('token-dialog') as HTMLDialogElement;
    const input = document.getElementById('token-input') as HTMLInputElement;
    (document.getElementById('token-error') as HTMLElement).hidden = !refused;
    input.value = '';
    dialog.showModal();
    dialog.addEventListener(
      'close',
      () => {
        sessionStorage.setItem(TOKEN_KEY, input.value.trim());
        asking = undefined;
        resolve();
      },
      { once: true },
    );
  });
  return asking;
}

// --- time ----------------------------------------------------------------------------------------------

function ago(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined) return '—';
  const t = typeof iso === 'number' ? iso : Date.parse(iso);
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 90) return `${s}s ago`;
  if (s < 5400) return `${Math.round(s / 60)}m ago`;
  if (s < 172_800) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86_400)}d ago`;
}
const when = (t: string | number | null | undefined): string =>
  t === null || t === undefined ? '—' : new Date(t).toLocaleString();

// --- overview ------------------------------------------------------------------------------------------

interface AlertRef {
  fingerprint: string;
  level: string;
  state: string;
  title: string;
}
interface Overview {
  cluster: string | null;
  platform?: string;
  version?: string | null;
  counts: { alerts: number; notices: number; pending: number };
  monitor: {
    ready: boolean;
    reason: string | null;
    blind: string[];
    watchLagSeconds: number | null;
    lastEvaluation: string | null;
    receiversFailing: string[];
  };
  controlPlane: {
    name: string;
    status: string;
    reason: string | null;
    whenDown: string;
    colour: Colour;
    alerts: AlertRef[];
  }[];
  nodes: {
    total: number;
    ready: number;
    colour: Colour;
    whenDown: string;
    shown: { name: string; status: string; reason: string | null; colour: Colour; alerts: number }[];
  } | null;
  components: {
    namespace: string;
    kind: string;
    name: string;
    component: string | null;
    desired: number;
    available: number;
    status: string;
    whenDown: string | null;
    colour: Colour;
    alerts: AlertRef[];
  }[];
  namespaces: { namespace: string; workloads: number; degraded: number; colour: Colour; alerts: number }[];
}

const worstOf = (cs: Colour[]): Colour =>
  cs.includes('red') ? 'red' : cs.includes('amber') ? 'amber' : cs.includes('green') ? 'green' : 'grey';

function alertLines(alerts: AlertRef[]): Child {
  return alerts.map((a) =>
    h(
      'small',
      {},
      badge(a.level),
      ' ',
      a.state === 'pending' ? '(pending) ' : '',
      h('a', { href: `#/findings?focus=${encodeURIComponent(a.fingerprint)}` }, a.title),
    ),
  );
}

async function renderOverview(view: HTMLElement): Promise<void> {
  const o = await api<Overview>('/api/v1/overview');
  const cp = o.controlPlane;
  const comps = o.components;
  const nodes = o.nodes;
  fill(
    view,
    h('h1', {}, `Self-healing map${o.cluster ? ` — ${o.cluster}` : ''}`),
    h(
      'p',
      { class: 'muted' },
      [o.platform, o.version].filter(Boolean).join(' · '),
      ' · each layer heals the one below it; red is broken, amber at risk, green working.',
    ),
    h(
      'div',
      { class: 'counts' },
      h(
        'div',
        { class: 'count', 'data-testid': 'count-alerts' },
        h('b', {}, o.counts.alerts),
        'Alerts firing',
      ),
      h(
        'div',
        { class: 'count', 'data-testid': 'count-notices' },
        h('b', {}, o.counts.notices),
        'Notices firing',
      ),
      h('div', { class: 'count' }, h('b', {}, o.counts.pending), 'pending'),
      h(
        'div',
        { class: 'count', 'data-testid': 'monitor' },
        h('b', {}, o.monitor.ready ? 'seeing' : 'blind'),
        o.monitor.ready ? `watch lag ${o.monitor.watchLagSeconds ?? '—'} s` : (o.monitor.reason ?? ''),
        o.monitor.receiversFailing.length > 0
          ? h('div', { class: 'error' }, `receivers failing: ${o.monitor.receiversFailing.join(', ')}`)
          : null,
      ),
    ),
    h(
      'div',
      { class: 'map' },
      h(
        'section',
        { class: 'layer', 'aria-labelledby': 'l-cp', 'data-testid': 'layer-control-plane' },
        h('h2', { id: 'l-cp' }, dot(worstOf(cp.map((c) => c.colour))), 'Control plane'),
        h(
          'p',
          { class: 'muted' },
          'Schedules pods, recreates replicas, notices lost nodes, stores the state.',
        ),
        cp.map((c) =>
          h(
            'div',
            { class: 'item', 'data-colour': c.colour, 'data-testid': `cp-${c.name}` },
            dot(c.colour),
            h(
              'div',
              { class: 'what' },
              h('b', {}, c.name),
              ` — ${c.status}${c.reason ? `: ${c.reason}` : ''}`,
              h('small', {}, `When down: ${c.whenDown}`),
              alertLines(c.alerts),
            ),
            h('span', { class: 'sr' }, COLOUR_WORD[c.colour]),
          ),
        ),
      ),
      h(
        'section',
        { class: 'layer', 'aria-labelledby': 'l-nodes', 'data-testid': 'layer-nodes' },
        h('h2', { id: 'l-nodes' }, dot(nodes?.colour ?? 'grey'), 'Nodes: kubelet and runtime'),
        h(
          'p',
          { class: 'muted' },
          nodes
            ? `${nodes.ready} of ${nodes.total} Ready. When a node is lost, ${nodes.whenDown}.`
            : 'not synced yet',
        ),
        h(
          'div',
          { class: 'nodes-grid', role: 'list' },
          (nodes?.shown ?? []).map((n) =>
            h('span', {
              class: `dot ${n.colour}`,
              role: 'listitem',
              title: `${n.name}: ${n.status}${n.reason ? ` (${n.reason})` : ''}${n.alerts ? `, ${n.alerts} alerts` : ''}`,
              'aria-label': `${n.name} ${n.status}`,
            }),
          ),
        ),
        (nodes?.shown ?? [])
          .filter((n) => n.colour !== 'green')
          .map((n) =>
            h(
              'div',
              { class: 'item', 'data-colour': n.colour },
              dot(n.colour),
              h(
                'div',
                { class: 'what' },
                h('b', {}, n.name),
                ` — ${n.status}${n.reason ? `: ${n.reason}` : ''}`,
              ),
            ),
          ),
        h('p', {}, h('a', { href: '#/nodes' }, 'All nodes →')),
      ),
      h(
        'section',
        { class: 'layer', 'aria-labelledby': 'l-comp', 'data-testid': 'layer-components' },
        h('h2', { id: 'l-comp' }, dot(worstOf(comps.map((c) => c.colour))), 'kube-system and add-ons'),
        h(
          'p',
          { class: 'muted' },
          'DNS, networking, ingress, autoscaling, logs: what the workloads stand on.',
        ),
        comps
          .filter((c) => c.colour !== 'green')
          .map((c) =>
            h(
              'div',
              { class: 'item', 'data-colour': c.colour },
              dot(c.colour),
              h(
                'div',
                { class: 'what' },
                h('b', {}, `${c.namespace}/${c.name}`),
                ` ${c.kind} — ${c.available}/${c.desired} available`,
                c.whenDown ? h('small', {}, `When down: ${c.whenDown}`) : null,
                alertLines(c.alerts),
              ),
            ),
          ),
        ((healthy) =>
          healthy.length > 0
            ? h(
                'p',
                { class: 'healthy-list' },
                dot('green'),
                ` ${healthy.length} working: `,
                healthy.map((c, k) => [
                  k > 0 ? ', ' : '',
                  h(
                    'span',
                    { title: c.whenDown ? `When down: ${c.whenDown}` : '' },
                    `${c.namespace}/${c.name}`,
                  ),
                ]),
              )
            : null)(comps.filter((c) => c.colour === 'green')),
      ),
      h(
        'section',
        { class: 'layer', 'aria-labelledby': 'l-wl', 'data-testid': 'layer-workloads' },
        h('h2', { id: 'l-wl' }, dot(worstOf(o.namespaces.map((n) => n.colour))), 'Workloads'),
        h(
          'p',
          { class: 'muted' },
          'Deployments, StatefulSets and DaemonSets by namespace: replicas replaced, rollouts finishing.',
        ),
        o.namespaces.map((n) =>
          h(
            'div',
            { class: 'item', 'data-colour': n.colour },
            dot(n.colour),
            h(
              'div',
              { class: 'what' },
              h('a', { href: `#/workloads?namespace=${encodeURIComponent(n.namespace)}` }, n.namespace),
              ` — ${n.workloads} workloads${n.degraded ? `, ${n.degraded} below desired` : ''}${n.alerts ? `, ${n.alerts} alerts` : ''}`,
            ),
          ),
        ),
      ),
    ),
  );
}

// --- findings ------------------------------------------------------------------------------------------

interface Evidence {
  type: string;
  text: string;
  at?: number;
}
interface AlertItem {
  fingerprint: string;
  state: string;
  level: string;
  ruleId: string;
  object: { kind: string; namespace?: string; name: string };
  title: string;
  pendingSince: number;
  firingSince: number | null;
  levelHistory: { level: string; at: number }[];
  finding: { loop: string; message: string; evidence: Evidence[]; nextSteps: string[] };
}

function objectText(o: { kind: string; namespace?: string; name: string }): string {
  return o.namespace ? `${o.kind}/${o.namespace}/${o.name}` : `${o.kind}/${o.name}`;
}

async function renderFindings(view: HTMLElement, params: URLSearchParams): Promise<void> {
  const { items } = await api<{ items: AlertItem[] }>('/api/v1/alerts?limit=1000');
  const active = items.filter((a) => a.state !== 'resolved' && a.level !== 'none');
  const level = params.get('level') ?? '';
  const ns = params.get('namespace') ?? '';
  const rule = params.get('rule') ?? '';
  const shown = active
    .filter(
      (a) =>
        (!level || a.level === level) && (!ns || a.object.namespace === ns) && (!rule || a.ruleId === rule),
    )
    .sort((a, b) =>
      a.level === b.level
        ? (a.firingSince ?? a.pendingSince) - (b.firingSince ?? b.pendingSince)
        : a.level === 'alert'
          ? -1
          : 1,
    );
  const select = (name: string, label: string, values: string[], current: string): HTMLElement =>
    h(
      'label',
      {},
      `${label} `,
      h(
        'select',
        {
          name,
          onchange: (e: Event) => {
            const p = new URLSearchParams(params);
            const v = (e.target as HTMLSelectElement).value;
            if (v) p.set(name, v);
            else p.delete(name);
            location.hash = `#/findings?${p.toString()}`;
          },
        },
        h('option', { value: '' }, 'all'),
        values.map((v) => h('option', { value: v, selected: v === current }, v)),
      ),
    );
  const uniq = (xs: string[]): string[] => [...new Set(xs)].sort();
  fill(
    view,
    h('h1', {}, 'Findings'),
    h(
      'div',
      { class: 'filters' },
      select('level', 'Level', ['alert', 'notice'], level),
      select('namespace', 'Namespace', uniq(active.map((a) => a.object.namespace ?? '').filter(Boolean)), ns),
      select('rule', 'Rule', uniq(active.map((a) => a.ruleId)), rule),
      h('span', { class: 'muted' }, `${shown.length} of ${active.length} open`),
    ),
    shown.length === 0
      ? h(
          'p',
          { class: 'muted', 'data-testid': 'no-findings' },
          'Nothing open: self-healing is doing its job.',
        )
      : null,
    shown.map((a) => findingCard(a, params.get('focus') === a.fingerprint)),
  );
  const focus = params.get('focus');
  if (focus) document.getElementById(`f-${cssId(focus)}`)?.scrollIntoView();
}

/** A text field of a form ('' when absent). */
const field = (data: FormData, name: string): string => {
  const v = data.get(name);
  return typeof v === 'string' ? v : '';
};

const cssId = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '_');

/** Silences set from this page, by alert: shown on the card across live re-renders. */
const silencedHere = new Map<string, number>();
const silencedText = (id: number): string =>
  `Silenced (#${id}): its notifications are held until the silence ends.`;

function findingCard(a: AlertItem, focused: boolean): HTMLElement {
  const colour = a.level === 'alert' ? 'red' : 'amber';
  const since = a.firingSince ?? a.pendingSince;
  const form = h('form', { class: 'silence-form', hidden: true, 'aria-label': `Silence ${a.title}` });
  const status = h(
    'span',
    { role: 'status' },
    silencedHere.has(a.fingerprint) ? silencedText(silencedHere.get(a.fingerprint)!) : '',
  );
  form.append(
    h(
      'label',
      {},
      'for ',
      h(
        'select',
        { name: 'duration' },
        ['1h', '4h', '24h', '7d'].map((d) => h('option', { value: d }, d)),
      ),
    ),
    h(
      'label',
      {},
      'by ',
      h('input', {
        name: 'author',
        required: true,
        value: localStorage.getItem('healwatch.author') ?? '',
        size: 12,
      }),
    ),
    h('label', {}, 'why ', h('input', { name: 'comment', size: 30 })),
    h('button', { type: 'submit', class: 'primary' }, 'Silence'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = new FormData(form as HTMLFormElement);
    const author = field(data, 'author').trim();
    localStorage.setItem('healwatch.author', author);
    const body = {
      matchers: [`rule=${a.ruleId}`, `object=${objectText(a.object)}`],
      duration: field(data, 'duration'),
      author,
      comment: field(data, 'comment'),
    };
    api<{ id: number }>('/api/v1/silences', { method: 'POST', body: JSON.stringify(body) })
      .then((s) => {
        silencedHere.set(a.fingerprint, s.id);
        // The card may have been re-rendered meanwhile (live updates): update whichever is on the page.
        for (const el of [status, ...document.querySelectorAll(`#f-${cssId(a.fingerprint)} [role="status"]`)])
          el.textContent = silencedText(s.id);
        form.hidden = true;
      })
      .catch((err: Error) => (status.textContent = `Could not silence: ${err.message}`));
  });
  return h(
    'article',
    {
      class: `card ${colour}`,
      id: `f-${cssId(a.fingerprint)}`,
      'data-testid': 'finding',
      'data-rule': a.ruleId,
      tabindex: focused ? -1 : undefined,
    },
    h('h3', {}, badge(a.level), ' ', a.title),
    h(
      'div',
      { class: 'muted' },
      `${a.ruleId} · ${objectText(a.object)} · ${a.state} since ${ago(since)}`,
      a.levelHistory.length > 1 ? ` · levels: ${a.levelHistory.map((l) => l.level).join(' → ')}` : '',
    ),
    h('p', {}, h('b', {}, 'Loop: '), a.finding.loop),
    h('p', {}, a.finding.message),
    a.finding.evidence.length > 0
      ? [
          h('b', {}, 'Evidence'),
          h(
            'ul',
            { 'data-testid': 'evidence' },
            a.finding.evidence.map((e) =>
              h(
                'li',
                {},
                h('span', { class: 'muted' }, `${e.type} `),
                e.text,
                e.at ? h('span', { class: 'muted' }, ` (${ago(e.at)})`) : null,
              ),
            ),
          ),
        ]
      : null,
    a.finding.nextSteps.length > 0
      ? [
          h('b', {}, 'Next steps'),
          h(
            'ul',
            {},
            a.finding.nextSteps.map((s) =>
              h('li', {}, /^(kubectl|crictl|journalctl) /.test(s) ? h('code', {}, s) : s),
            ),
          ),
        ]
      : null,
    h(
      'button',
      { type: 'button', onclick: () => ((form.hidden = !form.hidden), form.querySelector('input')?.focus()) },
      'Silence…',
    ),
    form,
    status,
  );
}

// --- history -------------------------------------------------------------------------------------------

interface HistoryEvent {
  fingerprint: string;
  at: number;
  kind: string;
  level: string;
  previousLevel?: string;
  finding: { title: string; ruleId: string };
}
interface Sent {
  id: number;
  receiver: string;
  kind: string;
  state: string;
  level: string | null;
  title: string | null;
  createdAt: string;
  sentAt: string | null;
  attempts: number;
  lastError: string | null;
}

async function renderHistory(view: HTMLElement): Promise<void> {
  const [history, sent] = await Promise.all([
    api<{ items: HistoryEvent[] }>('/api/v1/history?limit=200').catch((e: Error) => ({
      items: [] as HistoryEvent[],
      error: e.message,
    })),
    api<{ items: Sent[] }>('/api/v1/notifications?limit=200').catch(() => ({ items: [] as Sent[] })),
  ]);
  fill(
    view,
    h('h1', {}, 'History'),
    h('h2', {}, 'Alerts opened, escalated and resolved'),
    history.items.length === 0
      ? h('p', { class: 'muted' }, 'error' in history ? String(history.error) : 'Nothing yet.')
      : null,
    h(
      'ol',
      { class: 'timeline', reversed: true },
      history.items.map((e) =>
        h(
          'li',
          {},
          h('span', { class: 'muted' }, `${when(e.at)} `),
          h('b', {}, e.kind),
          e.previousLevel ? ` (${e.previousLevel} → ${e.level})` : '',
          ' ',
          badge(e.level),
          ' ',
          e.finding.title,
          h('span', { class: 'muted' }, ` · ${e.finding.ruleId}`),
        ),
      ),
    ),
    h('h2', {}, 'Notifications'),
    sent.items.length === 0
      ? h('p', { class: 'muted' }, 'No notification yet (or no receivers configured).')
      : h(
          'table',
          { 'data-testid': 'notifications' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Queued', 'Receiver', 'What', 'Level', 'Alert', 'Outcome', 'Attempts'].map((c) =>
                h('th', { scope: 'col' }, c),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            sent.items.map((m) =>
              h(
                'tr',
                {},
                h('td', {}, when(m.createdAt)),
                h('td', {}, m.receiver),
                h('td', {}, m.kind),
                h('td', {}, m.level ? badge(m.level) : ''),
                h('td', {}, m.title ?? ''),
                h(
                  'td',
                  {},
                  m.state === 'sent' ? `sent ${ago(m.sentAt)}` : m.state,
                  m.lastError ? h('div', { class: 'muted' }, m.lastError) : null,
                ),
                h('td', {}, m.attempts),
              ),
            ),
          ),
        ),
  );
}

// --- metrics -------------------------------------------------------------------------------------------

interface UPlotCtor {
  new (opts: unknown, data: unknown, target: HTMLElement): { destroy(): void };
}
let uPlotCtor: UPlotCtor | undefined;
async function loadUPlot(): Promise<UPlotCtor> {
  // Served by Healwatch from node_modules/uplot (no CDN); a variable keeps the bundler-free import as is.
  const url = '/assets/uplot.js';
  uPlotCtor ??= ((await import(url)) as { default: UPlotCtor }).default;
  return uPlotCtor;
}

const CHARTS: { title: string; match: RegExp; unit: string }[] = [
  { title: 'Nodes', match: /^node-count:.*:(nodes|ready|notReady)$/, unit: '' },
  {
    title: 'Pods by phase',
    match: /^pod-phases:.*:(running|pending|failed|runningNotReady|unknown|terminating)$/,
    unit: '',
  },
  {
    title: 'Node CPU and memory in use (all nodes, busiest node)',
    match: /^node-usage:.*:(cpuPercent|memoryPercent|maxNodeCpuPercent|maxNodeMemoryPercent)$/,
    unit: '%',
  },
  {
    title: 'Requested of allocatable',
    match: /^resource-requests:.*:(cpuRequestPercent|memoryRequestPercent)$/,
    unit: '%',
  },
  {
    title: 'Fullest node and image filesystem',
    match: /^cluster:.*:(maxNodeFsPercent|maxImageFsPercent)$/,
    unit: '%',
  },
  { title: 'Container restarts (all pods, cumulative)', match: /^cluster:.*:containerRestarts$/, unit: '' },
];
let charts: { destroy(): void }[] = [];

async function renderMetrics(view: HTMLElement, params: URLSearchParams): Promise<void> {
  const range = params.get('range') ?? '6h';
  const ranges: Record<string, number> = {
    '1h': 3_600_000,
    '6h': 21_600_000,
    '24h': 86_400_000,
    '7d': 604_800_000,
    '30d': 2_592_000_000,
  };
  const { series } = await api<{ series: string[] }>('/api/v1/series');
  const uPlot = await loadUPlot();
  for (const c of charts) c.destroy();
  charts = [];
  const grid = h('div', { class: 'charts' });
  fill(
    view,
    h('h1', {}, 'Metrics'),
    h(
      'div',
      { class: 'filters', role: 'group', 'aria-label': 'Time range' },
      'Range:',
      Object.keys(ranges).map((r) =>
        h('a', { href: `#/metrics?range=${r}`, 'aria-current': r === range ? 'true' : undefined }, r),
      ),
    ),
    series.length === 0
      ? h(
          'p',
          { class: 'muted' },
          'No samples yet: Healwatch records the None-level measurements once a minute.',
        )
      : null,
    grid,
  );
  const window = ranges[range] ?? ranges['6h']!;
  const dark = document.documentElement.dataset.theme === 'dark';
  const palette = ['#1c64d6', '#2b8a3e', '#c92a2a', '#b35c00', '#7048e8', '#0c8599'];
  for (const chart of CHARTS) {
    const names = series.filter((s) => chart.match.test(s)).slice(0, 6);
    if (names.length === 0) continue;
    const q = new URLSearchParams({ window: String(window) });
    for (const n of names) q.append('series', n);
    const data = await api<{ series: { name: string; points: [number, number][] }[] }>(
      `/api/v1/series?${q.toString()}`,
    );
    const times = [...new Set(data.series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
    const columns = data.series.map((s) => {
      const m = new Map(s.points);
      return times.map((t) => m.get(t) ?? null);
    });
    const box = h(
      'figure',
      { class: 'chart', 'data-testid': 'chart', 'data-points': times.length },
      h('h3', {}, chart.title),
    );
    grid.append(box);
    const width = Math.max(300, box.clientWidth - 16);
    charts.push(
      new uPlot(
        {
          width,
          height: 220,
          axes: [
            { stroke: dark ? '#9aa4b0' : '#5b6470' },
            {
              stroke: dark ? '#9aa4b0' : '#5b6470',
              values: (_u: unknown, vs: number[]) => vs.map((v) => `${v}${chart.unit}`),
            },
          ],
          series: [
            {},
            ...data.series.map((s, i) => ({
              label: s.name.split(':').pop(),
              stroke: palette[i % palette.length],
              width: 2,
              spanGaps: true,
            })),
          ],
        },
        [times.map((t) => t / 1000), ...columns],
        box,
      ),
    );
  }
}

// --- nodes and workloads -------------------------------------------------------------------------------

interface Page<T> {
  total: number;
  offset: number;
  limit: number;
  items: T[];
}

function pager(route: string, params: URLSearchParams, page: Page<unknown>): HTMLElement {
  const go = (offset: number): void => {
    const p = new URLSearchParams(params);
    p.set('offset', String(Math.max(0, offset)));
    location.hash = `#/${route}?${p.toString()}`;
  };
  return h(
    'div',
    { class: 'pager' },
    h(
      'button',
      { type: 'button', disabled: page.offset === 0, onclick: () => go(page.offset - page.limit) },
      '← Previous',
    ),
    h(
      'span',
      { class: 'muted' },
      page.total === 0
        ? 'none'
        : `${page.offset + 1}–${Math.min(page.total, page.offset + page.limit)} of ${page.total}`,
    ),
    h(
      'button',
      {
        type: 'button',
        disabled: page.offset + page.limit >= page.total,
        onclick: () => go(page.offset + page.limit),
      },
      'Next →',
    ),
  );
}

function search(route: string, params: URLSearchParams, placeholder: string): HTMLElement {
  const input = h('input', {
    type: 'search',
    name: 'q',
    placeholder,
    value: params.get('q') ?? '',
    'aria-label': placeholder,
    id: 'search',
  }) as HTMLInputElement;
  const form = h(
    'form',
    { class: 'filters', role: 'search' },
    input,
    h('button', { type: 'submit' }, 'Filter'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const p = new URLSearchParams(params);
    p.delete('offset');
    if (input.value) p.set('q', input.value);
    else p.delete('q');
    location.hash = `#/${route}?${p.toString()}`;
  });
  return form;
}

interface NodeRow {
  name: string;
  status: string;
  reason: string | null;
  schedulable: boolean;
  roles: string[];
  zone: string | null;
  kubeletVersion: string;
  pods: number;
  heartbeatAgeSeconds: number | null;
  colour: Colour;
  alerts: number;
}

async function renderNodes(view: HTMLElement, params: URLSearchParams): Promise<void> {
  const q = new URLSearchParams({
    limit: '50',
    offset: params.get('offset') ?? '0',
    q: params.get('q') ?? '',
  });
  const page = await api<Page<NodeRow>>(`/api/v1/nodes?${q.toString()}`);
  fill(
    view,
    h('h1', {}, 'Nodes'),
    search('nodes', params, 'Filter by name or zone'),
    h(
      'table',
      { 'data-testid': 'nodes' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['', 'Node', 'Ready', 'Schedulable', 'Roles', 'Zone', 'Pods', 'Kubelet', 'Heartbeat', 'Alerts'].map(
            (c) => h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        page.items.map((n) =>
          h(
            'tr',
            {},
            h('td', {}, dot(n.colour)),
            h('td', {}, n.name),
            h('td', {}, n.status, n.reason ? h('div', { class: 'muted' }, n.reason) : null),
            h('td', {}, n.schedulable ? 'yes' : 'cordoned'),
            h('td', {}, n.roles.join(', ')),
            h('td', {}, n.zone ?? '—'),
            h('td', {}, n.pods),
            h('td', {}, n.kubeletVersion),
            h('td', {}, n.heartbeatAgeSeconds === null ? '—' : `${n.heartbeatAgeSeconds}s ago`),
            h('td', {}, n.alerts || ''),
          ),
        ),
      ),
    ),
    pager('nodes', params, page),
  );
}

interface WorkloadRow {
  kind: string;
  namespace: string;
  name: string;
  desired: number;
  available: number;
  pods: number;
  restarts: number;
  placement: { nodes: Record<string, number>; nodeCount: number; zones: Record<string, number> };
  skewed: boolean;
  colour: Colour;
  alerts: number;
}

async function renderWorkloads(view: HTMLElement, params: URLSearchParams): Promise<void> {
  const q = new URLSearchParams({
    limit: '50',
    offset: params.get('offset') ?? '0',
    q: params.get('q') ?? '',
  });
  if (params.get('namespace')) q.set('namespace', params.get('namespace')!);
  const page = await api<Page<WorkloadRow>>(`/api/v1/workloads?${q.toString()}`);
  const spread = (m: Record<string, number>): HTMLElement =>
    h(
      'div',
      { class: 'placement' },
      Object.entries(m)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => h('span', {}, `${k}: ${v}`)),
    );
  fill(
    view,
    h('h1', {}, `Workloads${params.get('namespace') ? ` in ${params.get('namespace')}` : ''}`),
    search('workloads', params, 'Filter by name or namespace'),
    h(
      'table',
      { 'data-testid': 'workloads' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['', 'Workload', 'Available', 'Restarts', 'Nodes', 'Zones', 'Alerts'].map((c) =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        page.items.map((w) =>
          h(
            'tr',
            {},
            h('td', {}, dot(w.colour)),
            h('td', {}, h('b', {}, `${w.namespace}/${w.name}`), h('div', { class: 'muted' }, w.kind)),
            h('td', {}, `${w.available}/${w.desired}`),
            h('td', {}, w.restarts),
            h(
              'td',
              {},
              spread(w.placement.nodes),
              w.placement.nodeCount > 10
                ? h('div', { class: 'muted' }, `on ${w.placement.nodeCount} nodes`)
                : null,
              w.skewed ? h('div', { class: 'skew' }, 'most replicas on one node') : null,
            ),
            h('td', {}, spread(w.placement.zones)),
            h('td', {}, w.alerts || ''),
          ),
        ),
      ),
    ),
    pager('workloads', params, page),
  );
}

// --- shell: routing, live updates, theme, keys ------------------------------------------------------------

const ROUTES: Record<string, (view: HTMLElement, params: URLSearchParams) => Promise<void>> = {
  overview: renderOverview,
  findings: renderFindings,
  history: renderHistory,
  metrics: renderMetrics,
  nodes: renderNodes,
  workloads: renderWorkloads,
};

function current(): { route: string; params: URLSearchParams } {
  const [path = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  return { route: ROUTES[path] ? path : 'overview', params: new URLSearchParams(query) };
}

let rendering: Promise<void> | undefined;
let again = false;
async function render(): Promise<void> {
  if (rendering) {
    again = true;
    return rendering;
  }
  const { route, params } = current();
  for (const a of document.querySelectorAll('nav a'))
    a.toggleAttribute('aria-current', a.getAttribute('href') === `#/${route}`);
  if (document.querySelector('nav a[aria-current]'))
    document.querySelector('nav a[aria-current]')!.setAttribute('aria-current', 'page');
  const view = document.getElementById('view')!;
  rendering = ROUTES[route]!(view, params)
    .catch((e: Error) => fill(view, h('h1', {}, 'Cannot load'), h('p', { class: 'error' }, e.message)))
    .finally(() => {
      rendering = undefined;
      document.body.dataset.rendered = String(Date.now());
      if (again) {
        again = false;
        void render();
      }
    });
  return rendering;
}

/** Follows the server's event stream (fetch, so the token goes in a header); re-renders on each update. */
async function live(): Promise<void> {
  const status = document.getElementById('status')!;
  for (;;) {
    try {
      const token = sessionStorage.getItem(TOKEN_KEY);
      const res = await fetch('/api/v1/stream', {
        headers: token ? { Authorization: `Bearer ${token}` } : {},
      });
      if (res.status === 401) {
        await askToken(token !== null);
        continue;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      let first = true;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let i: number;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const chunk = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const data = /^data: (.*)$/m.exec(chunk)?.[1];
          if (!data) continue;
          const u = JSON.parse(data) as { at: string | null; alerts: number; notices: number };
          status.replaceChildren(
            dot(u.alerts > 0 ? 'red' : u.notices > 0 ? 'amber' : 'green'),
            `${u.alerts} Alerts · ${u.notices} Notices · live`,
          );
          document.querySelector('.brand .dot')!.className =
            `dot ${u.alerts > 0 ? 'red' : u.notices > 0 ? 'amber' : 'green'}`;
          // The metrics page keeps its charts (they change once a minute); everything else follows, but
          // not while someone is filling in a form (a silence) on the page.
          const active = document.activeElement;
          const typing = active !== null && active.closest('#view form') !== null;
          if (!first && current().route !== 'metrics' && !typing) void render();
          first = false;
        }
      }
    } catch {
      status.replaceChildren(dot('grey'), 'reconnecting…');
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function setTheme(theme: string): void {
  document.documentElement.dataset.theme = theme;
  localStorage.setItem('healwatch.theme', theme);
}

setTheme(
  localStorage.getItem('healwatch.theme') ??
    (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'),
);
document.getElementById('theme')!.addEventListener('click', () => {
  setTheme(document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark');
  if (current().route === 'metrics') void render();
});
document.addEventListener('keydown', (e) => {
  const target = e.target as HTMLElement;
  if (e.ctrlKey || e.metaKey || e.altKey || ['INPUT', 'SELECT', 'TEXTAREA'].includes(target.tagName)) return;
  if (e.key === '/') {
    const s = document.getElementById('search');
    if (s) {
      e.preventDefault();
      s.focus();
    }
    return;
  }
  const link = document.querySelector<HTMLAnchorElement>(`nav a[data-key="${e.key}"]`);
  if (link) location.hash = link.getAttribute('href')!;
});
window.addEventListener('hashchange', () => {
  void render().then(() => document.getElementById('view')?.focus({ preventScroll: true }));
});
void render();
void live();
