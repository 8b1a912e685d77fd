// Helpers and the live cluster cache: lists every resource once, then follows one watch stream,
// resuming from the last resourceVersion after a dropped connection and relisting on 410 Gone.

export const RESOURCES = [
  { key: 'namespaces', path: '/api/v1/namespaces', kind: 'Namespace', namespaced: false },
  { key: 'pods', path: '/api/v1/pods', kind: 'Pod', namespaced: true },
  { key: 'services', path: '/api/v1/services', kind: 'Service', namespaced: true },
  { key: 'endpointslices.discovery.k8s.io', path: '/apis/discovery.k8s.io/v1/endpointslices', kind: 'EndpointSlice', namespaced: true },
  { key: 'deployments.apps', path: '/apis/apps/v1/deployments', kind: 'Deployment', namespaced: true },
  { key: 'replicasets.apps', path: '/apis/apps/v1/replicasets', kind: 'ReplicaSet', namespaced: true },
  { key: 'events', path: '/api/v1/events', kind: 'Event', namespaced: true },
];

export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

export const keyOf = (o) => (o.metadata.namespace ? o.metadata.namespace + '/' : '') + o.metadata.name;

/** "3m", "2h", "5d" since an RFC 3339 time. */
export function age(ts) {
  if (!ts) return '';
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(ts)) / 1000));
  if (s < 120) return s + 's';
  if (s < 7200) return Math.floor(s / 60) + 'm';
  if (s < 172800) return Math.floor(s / 3600) + 'h';
  return Math.floor(s / 86400) + 'd';
}

/** The API path of one object (or of its collection when name is empty). */
const OTHER_KINDS = {
  Node: ['/api/v1', 'nodes', false], ConfigMap: ['/api/v1', 'configmaps', true], Secret: ['/api/v1', 'secrets', true],
  Endpoints: ['/api/v1', 'endpoints', true], ServiceAccount: ['/api/v1', 'serviceaccounts', true],
  StatefulSet: ['/apis/apps/v1', 'statefulsets', true], DaemonSet: ['/apis/apps/v1', 'daemonsets', true],
  Job: ['/apis/batch/v1', 'jobs', true],
};
export function objectPath(kindOrRes, ns, name = '') {
  const r = RESOURCES.find((x) => x.kind === kindOrRes || x.key === kindOrRes);
  const m = r ? r.path.match(/^(.*\/v1)\/(\w+)$/) : null;
  const [prefix, plural, namespaced] = m ? [m[1], m[2], r.namespaced]
    : OTHER_KINDS[kindOrRes] || ['/api/v1', String(kindOrRes).toLowerCase() + 's', true];
  const p = prefix + (namespaced && ns ? '/namespaces/' + encodeURIComponent(ns) : '') + '/' + plural;
  return name ? p + '/' + encodeURIComponent(name) : p;
}

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

/** fetch() with JSON in and out; throws ApiError carrying the Status message. */
export async function request(method, path, body, contentType = 'application/json') {
  const opts = { method, headers: { Accept: 'application/json', 'X-Minikd-Dashboard': '1' }, credentials: 'same-origin' };
  if (body !== undefined) {
    opts.body = typeof body === 'string' ? body : JSON.stringify(body);
    opts.headers['Content-Type'] = contentType;
  }
  const res = await fetch(path, opts);
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* plain text */ }
  if (!res.ok) {
    if (res.status === 401) location.reload();
    throw new ApiError(res.status, (json && json.message) || text || res.statusText);
  }
  return json;
}

/** Reads a streamed response line by line. */
export async function readLines(res, onLine, signal) {
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done || signal?.aborted) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line) onLine(line);
    }
  }
  if (buf) onLine(buf);
}

/** JSON → YAML text for reading (block style, quoted where YAML would misread a string). */
export function toYaml(v, indent = '') {
  const scalar = (x) => {
    if (x === null) return 'null';
    if (typeof x !== 'string') return String(x);
    if (x === '' || /^[\s\-?:,\[\]{}#&*!|>'"%@`]|[:#]\s|\s$|^(true|false|null|yes|no|on|off|~|[-+.\d].*)$/i.test(x) || /[\n\t]/.test(x)) return JSON.stringify(x);
    return x;
  };
  if (Array.isArray(v)) {
    if (!v.length) return '[]';
    return v.map((x) => {
      if (x && typeof x === 'object' && !Array.isArray(x) && Object.keys(x).length) {
        const inner = toYaml(x, indent + '  ');
        return indent + '- ' + inner.slice(indent.length + 2);
      }
      return indent + '- ' + (x && typeof x === 'object' ? toYaml(x, indent + '  ').trimStart() : scalar(x));
    }).join('\n');
  }
  if (v && typeof v === 'object') {
    const keys = Object.keys(v);
    if (!keys.length) return '{}';
    return keys.map((k) => {
      const x = v[k];
      const key = indent + (/^[\w.\/-]+$/.test(k) ? k : JSON.stringify(k)) + ':';
      if (x && typeof x === 'object' && (Array.isArray(x) ? x.length : Object.keys(x).length))
        return key + '\n' + toYaml(x, Array.isArray(x) ? indent : indent + '  ');
      if (typeof x === 'string' && x.includes('\n')) return key + ' |\n' + x.replace(/\n$/, '').split('\n').map((l) => indent + '  ' + l).join('\n');
      return key + ' ' + (x && typeof x === 'object' ? (Array.isArray(x) ? '[]' : '{}') : scalar(x));
    }).join('\n');
  }
  return indent + scalar(v);
}

/** Every object of RESOURCES in memory, kept current by one watch stream. */
export class Cluster {
  constructor(onChange, onConnection) {
    this.maps = Object.fromEntries(RESOURCES.map((r) => [r.key, new Map()]));
    this.listRv = {};
    this.rv = 0;
    this.onChange = onChange;
    this.onConnection = onConnection;
    this.ctrl = null;
  }

  get(key) { return this.maps[key]; }

  async start() {
    for (;;) {
      try {
        await this.relist();
        await this.follow();
      } catch (e) {
        this.onConnection(false, e.message);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  async relist() {
    const lists = await Promise.all(RESOURCES.map((r) => request('GET', r.path)));
    let min = Infinity;
    RESOURCES.forEach((r, i) => {
      const m = new Map();
      for (const o of lists[i].items) m.set(keyOf(o), o);
      this.maps[r.key] = m;
      const rv = Number(lists[i].metadata.resourceVersion);
      this.listRv[r.key] = rv;
      min = Math.min(min, rv);
    });
    this.rv = min;
    this.onChange(null);
  }

  /** Follows the watch, resuming on dropped connections; returns only to relist (410). */
  async follow() {
    for (;;) {
      let gone = false;
      try {
        this.ctrl = new AbortController();
        const url = '/minikd/dashboard/watch?resourceVersion=' + this.rv + '&resources=' + RESOURCES.map((r) => r.key).join(',');
        const res = await fetch(url, { signal: this.ctrl.signal, credentials: 'same-origin' });
        if (res.status === 401) location.reload();
        if (!res.ok) throw new Error('watch: HTTP ' + res.status);
        this.onConnection(true);
        await readLines(res, (line) => {
          const ev = JSON.parse(line);
          if (ev.type === 'ERROR') { if (ev.object?.code === 410) gone = true; return; }
          if (ev.type === 'BOOKMARK') { this.rv = Math.max(this.rv, ev.rv); return; }
          this.rv = Math.max(this.rv, ev.rv);
          if (ev.rv <= (this.listRv[ev.resource] ?? 0)) return;  // already in that list
          const m = this.maps[ev.resource];
          if (!m) return;
          const k = keyOf(ev.object);
          if (ev.type === 'DELETED') m.delete(k); else m.set(k, ev.object);
          this.onChange(ev.resource);
        });
      } catch (e) {
        if (e.name === 'AbortError') return;
        this.onConnection(false, e.message);
      }
      if (gone) return;
      this.onConnection(false, 'reconnecting');
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
