// The dashboard: hash routes (#/pods?ns=default), views rendered from the live cache at most once per
// animation frame, actions through the same-origin Kubernetes API.
import { Cluster, esc, age, keyOf, objectPath, request, readLines, toYaml } from './lib.js';
import { renderTopology } from './topology.js';

const $ = (sel) => document.querySelector(sel);
const view = $('#view');
let route = { name: 'overview', params: new URLSearchParams() };
let status = null;
let frame = 0;
let logAbort = null;
let painted = '';
/** Replaces the view's HTML only when it changed (keeps hover, focus and selection otherwise). */
const out = { set html(h) { if (h !== painted) { view.innerHTML = h; painted = h; } } };

const cluster = new Cluster(() => scheduleRender(), (ok, why) => {
  const el = $('#conn');
  el.className = ok ? 'conn live' : 'conn down';
  el.textContent = ok ? 'live' : 'reconnecting…';
  el.title = ok ? 'following the cluster' : why || '';
});

// ---- routing ----

const VIEWS = { overview, pods, services, deployments, events, topology, logs, object, apply };
const LIVE = new Set(['overview', 'pods', 'services', 'deployments', 'events', 'topology']);

function parseRoute() {
  const h = location.hash.replace(/^#\/?/, '');
  const [path, query] = h.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { name: VIEWS[parts[0]] ? parts[0] : 'overview', args: parts.slice(1), params: new URLSearchParams(query || '') };
}

const ns = () => route.params.get('ns') || '';
const inNs = (o) => !ns() || o.metadata.namespace === ns();
const href = (name, args = [], extra = {}) => {
  const p = new URLSearchParams();
  if (ns()) p.set('ns', ns());
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  const q = p.toString();
  return '#/' + [name, ...args.map(encodeURIComponent)].join('/') + (q ? '?' + q : '');
};

function onRoute() {
  if (logAbort) { logAbort.abort(); logAbort = null; }
  route = parseRoute();
  document.querySelectorAll('nav a[data-view]').forEach((a) => {
    a.classList.toggle('active', a.dataset.view === route.name);
    a.href = href(a.dataset.view);
  });
  $('#ns').value = ns();
  view.dataset.view = route.name;
  painted = '';
  if (route.name === 'overview') loadStatus();
  VIEWS[route.name]();
  window.scrollTo(0, 0);
}

function scheduleRender() {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    renderNamespaces();
    if (LIVE.has(route.name)) VIEWS[route.name]();
  });
}

function renderNamespaces() {
  const sel = $('#ns');
  const names = [...cluster.get('namespaces').values()].map((n) => n.metadata.name).sort();
  const want = ['', ...names].join('\n');
  if (sel.dataset.names === want) return;
  sel.dataset.names = want;
  sel.innerHTML = '<option value="">all namespaces</option>' + names.map((n) => `<option>${esc(n)}</option>`).join('');
  sel.value = ns();
}

// ---- health of objects ----

export function podStatus(p) {
  if (p.metadata.deletionTimestamp) return 'Terminating';
  for (const c of p.status?.containerStatuses || []) {
    if (c.state?.waiting?.reason) return c.state.waiting.reason;
    if (c.state?.terminated?.reason && p.status.phase !== 'Succeeded') return c.state.terminated.reason;
  }
  return p.status?.phase || 'Pending';
}
export function podReady(p) {
  const cs = p.status?.containerStatuses || [];
  const n = (p.spec?.containers || []).length;
  return [cs.filter((c) => c.ready).length, n];
}
/** 'ok' | 'warn' | 'bad' */
export function podHealth(p) {
  const s = podStatus(p);
  const [r, n] = podReady(p);
  if (s === 'Running' && r === n) return 'ok';
  if (s === 'Succeeded') return 'ok';
  if (s === 'Pending' || s === 'ContainerCreating' || s === 'Terminating' || s === 'Running') return 'warn';
  return 'bad';
}
export function workloadHealth(d) {
  const want = d.spec?.replicas ?? 1;
  const ready = d.status?.readyReplicas || 0;
  if (ready >= want) return 'ok';
  return ready > 0 || want === 0 ? 'warn' : 'bad';
}
const restarts = (p) => (p.status?.containerStatuses || []).reduce((a, c) => a + (c.restartCount || 0), 0);
const dot = (h) => `<span class="dot ${h}"></span>`;
const list = (key) => [...cluster.get(key).values()].filter(inNs);
const byName = (a, b) => keyOf(a).localeCompare(keyOf(b));
const objLink = (kind, o, text) => `<a href="${href('object', [kind, o.metadata.namespace || '', o.metadata.name])}">${esc(text ?? o.metadata.name)}</a>`;
const nsCell = (o) => ns() ? '' : `<td class="muted">${esc(o.metadata.namespace)}</td>`;
const nsHead = () => ns() ? '' : '<th>Namespace</th>';

function slicesOf(svc) {
  return [...cluster.get('endpointslices.discovery.k8s.io').values()].filter((s) =>
    s.metadata.namespace === svc.metadata.namespace && s.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata.name);
}
/** [{ip, ready, pod}] of a Service, from its EndpointSlices. */
export function endpointsOf(svc) {
  const out = [];
  for (const s of slicesOf(svc))
    for (const e of s.endpoints || [])
      for (const ip of e.addresses || [])
        out.push({ ip, ready: e.conditions?.ready !== false, pod: e.targetRef?.kind === 'Pod' ? e.targetRef.name : '' });
  return out;
}

// ---- views ----

function overview() {
  const ps = list('pods'), ss = list('services'), ds = list('deployments.apps');
  const count = (arr, f) => arr.filter(f).length;
  const card = (title, link, total, rows) => `<a class="card" href="${link}"><h3>${title}</h3><div class="big">${total}</div>
    <div class="legend">${rows.filter(([, n]) => n).map(([h, n, t]) => `<span>${dot(h)}${n} ${t}</span>`).join('') || '<span class="muted">none</span>'}</div></a>`;
  const unready = ss.filter((s) => s.spec?.selector && endpointsOf(s).every((e) => !e.ready)).length;
  const parts = status?.components || [];
  const evs = list('events').sort(byTime).slice(0, 8);
  out.html = `<h2>Overview</h2>
  <div class="cards">
    ${card('Pods', href('pods'), ps.length, [['ok', count(ps, (p) => podHealth(p) === 'ok'), 'healthy'], ['warn', count(ps, (p) => podHealth(p) === 'warn'), 'starting'], ['bad', count(ps, (p) => podHealth(p) === 'bad'), 'failing']])}
    ${card('Services', href('services'), ss.length, [['ok', ss.length - unready, 'with ready endpoints'], ['bad', unready, 'without']])}
    ${card('Deployments', href('deployments'), ds.length, [['ok', count(ds, (d) => workloadHealth(d) === 'ok'), 'available'], ['warn', count(ds, (d) => workloadHealth(d) === 'warn'), 'progressing'], ['bad', count(ds, (d) => workloadHealth(d) === 'bad'), 'unavailable']])}
  </div>
  <section><h3>minikd <button class="small" data-action="status">refresh</button></h3>
    <div class="parts">${parts.length ? parts.map((c) => `<div class="part">${dot(c.healthy ? 'ok' : 'bad')}<b>${esc(c.name)}</b><span class="muted">${esc(c.message || '')}</span></div>`).join('') : '<span class="muted">loading…</span>'}</div>
  </section>
  <section><h3>Recent events <a class="small" href="${href('events')}">all</a></h3>${eventTable(evs)}</section>`;
}

async function loadStatus() {
  try { status = await request('GET', '/minikd/status'); } catch (e) { status = { components: [{ name: 'status', healthy: false, message: e.message }] }; }
  if (route.name === 'overview') overview();
}

function pods() {
  const ps = list('pods').sort(byName);
  const rows = ps.map((p) => {
    const [r, n] = podReady(p);
    const h = podHealth(p);
    return [keyOf(p), `<tr data-key="${esc(keyOf(p))}">${nsCell(p)}<td>${dot(h)}${objLink('Pod', p)}</td><td class="st-${h}">${esc(podStatus(p))}</td>
      <td>${r}/${n}</td><td>${restarts(p)}</td><td class="mono">${esc(p.status?.podIP || '')}</td><td>${age(p.metadata.creationTimestamp)}</td>
      <td class="muted">${(p.spec?.containers || []).map((c) => esc(c.name)).join(', ')}</td>
      <td class="actions"><a class="btn small" href="${href('logs', [p.metadata.namespace, p.metadata.name])}">logs</a>
      <button class="small danger" data-action="delete" data-kind="Pod" data-ns="${esc(p.metadata.namespace)}" data-name="${esc(p.metadata.name)}">delete</button></td></tr>`];
  });
  if (!rows.length) rows.push(['', '<tr data-key=""><td colspan=9 class="empty">No pods</td></tr>']);
  out.html = `<h2>Pods <span class="count" id="count"></span></h2>
  <table class="grid"><thead><tr>${nsHead()}<th>Name</th><th>Status</th><th>Ready</th><th>Restarts</th><th>IP</th><th>Age</th><th>Containers</th><th></th></tr></thead>
  <tbody id="rows"></tbody></table>`;
  $('#count').textContent = ps.length;
  patchRows($('#rows'), rows);
}

/** Updates a table body row by row (keyed by data-key): only changed rows touch the DOM. */
function patchRows(tbody, rows) {
  if (!tbody.firstElementChild) {
    tbody.innerHTML = rows.map(([, h]) => h).join('');
    [...tbody.children].forEach((tr, i) => { tr._html = rows[i][1]; });
    return;
  }
  const old = new Map([...tbody.children].map((tr) => [tr.dataset.key, tr]));
  const tpl = document.createElement('template');
  let prev = null;
  for (const [key, html] of rows) {
    let tr = old.get(key);
    old.delete(key);
    if (!tr || tr._html !== html) {
      tpl.innerHTML = html;
      const n = tpl.content.firstElementChild;
      n._html = html;
      if (tr) tr.replaceWith(n);
      tr = n;
    }
    const want = prev ? prev.nextSibling : tbody.firstChild;
    if (want !== tr) tbody.insertBefore(tr, want);
    prev = tr;
  }
  for (const tr of old.values()) tr.remove();
}

function services() {
  const ss = list('services').sort(byName);
  const rows = ss.map((s) => {
    const eps = endpointsOf(s);
    const ready = eps.filter((e) => e.ready), notReady = eps.filter((e) => !e.ready);
    const h = !s.spec?.selector ? 'ok' : ready.length ? (notReady.length ? 'warn' : 'ok') : 'bad';
    const ports = (s.spec?.ports || []).map((p) => `${p.port}${p.nodePort ? ':' + p.nodePort : ''}/${p.protocol || 'TCP'}${p.targetPort !== undefined && p.targetPort !== p.port ? '→' + p.targetPort : ''}`).join(', ');
    const podLink = (e) => e.pod ? `<a class="pill ${e.ready ? 'ok' : 'bad'}" href="${href('object', ['Pod', s.metadata.namespace, e.pod])}">${esc(e.pod)}</a>` : `<span class="pill ${e.ready ? 'ok' : 'bad'}">${esc(e.ip)}</span>`;
    return `<tr>${nsCell(s)}<td>${dot(h)}${objLink('Service', s)}</td><td>${esc(s.spec?.type || 'ClusterIP')}</td><td class="mono">${esc(s.spec?.clusterIP || '')}</td>
      <td class="mono">${esc(ports)}</td><td>${ready.length}</td><td>${notReady.length}</td><td>${eps.map(podLink).join(' ')}</td><td>${age(s.metadata.creationTimestamp)}</td></tr>`;
  }).join('');
  out.html = `<h2>Services <span class="count">${ss.length}</span></h2>
  <table class="grid"><thead><tr>${nsHead()}<th>Name</th><th>Type</th><th>ClusterIP</th><th>Ports</th><th>Ready</th><th>Not ready</th><th>Endpoints</th><th>Age</th></tr></thead>
  <tbody>${rows || '<tr><td colspan=9 class="empty">No services</td></tr>'}</tbody></table>`;
}

function deployments() {
  const ds = list('deployments.apps').sort(byName);
  const rss = list('replicasets.apps').sort(byName);
  const drow = (d) => {
    const want = d.spec?.replicas ?? 1, st = d.status || {};
    const ready = st.readyReplicas || 0, updated = st.updatedReplicas || 0, total = st.replicas || 0;
    const h = workloadHealth(d);
    const cond = (st.conditions || []).find((c) => c.type === 'Progressing');
    const done = updated >= want && total === want && ready >= want;
    const pct = want ? Math.min(100, Math.round((Math.min(updated, ready) / want) * 100)) : 100;
    const args = `data-ns="${esc(d.metadata.namespace)}" data-name="${esc(d.metadata.name)}"`;
    return `<tr data-key="${esc(keyOf(d))}">${nsCell(d)}<td>${dot(h)}${objLink('Deployment', d)}</td>
      <td class="replicas"><b class="ready-count">${ready}/${want}</b></td><td>${updated}</td><td>${st.availableReplicas || 0}</td>
      <td class="rollout"><progress class="${done ? 'ok' : 'warn'}" value="${pct}" max="100"></progress><span class="muted">${done ? 'complete' : esc(cond?.reason || 'progressing')}</span></td>
      <td>${age(d.metadata.creationTimestamp)}</td>
      <td class="actions"><button class="small" data-action="scale" data-delta="-1" ${args} ${want === 0 ? 'disabled' : ''} title="scale down">−</button>
      <button class="small" data-action="scale" data-delta="1" ${args} title="scale up">+</button>
      <button class="small" data-action="restart" ${args}>restart</button></td></tr>`;
  };
  const rsrow = (r) => {
    const owner = (r.metadata.ownerReferences || []).find((o) => o.kind === 'Deployment');
    const want = r.spec?.replicas ?? 1, ready = r.status?.readyReplicas || 0;
    return `<tr>${nsCell(r)}<td>${dot(workloadHealth(r))}${objLink('ReplicaSet', r)}</td><td>${ready}/${want}</td><td>${owner ? objLink('Deployment', { metadata: { namespace: r.metadata.namespace, name: owner.name } }) : '<span class="muted">none</span>'}</td>
      <td class="mono muted">${esc(r.metadata.annotations?.['deployment.kubernetes.io/revision'] || '')}</td><td>${age(r.metadata.creationTimestamp)}</td></tr>`;
  };
  out.html = `<h2>Deployments <span class="count">${ds.length}</span></h2>
  <table class="grid"><thead><tr>${nsHead()}<th>Name</th><th>Ready</th><th>Up to date</th><th>Available</th><th>Rollout</th><th>Age</th><th>Scale / restart</th></tr></thead>
  <tbody>${ds.map(drow).join('') || '<tr><td colspan=8 class="empty">No deployments</td></tr>'}</tbody></table>
  <h2>ReplicaSets <span class="count">${rss.length}</span></h2>
  <table class="grid"><thead><tr>${nsHead()}<th>Name</th><th>Ready</th><th>Owner</th><th>Revision</th><th>Age</th></tr></thead>
  <tbody>${rss.map(rsrow).join('') || '<tr><td colspan=6 class="empty">No replicasets</td></tr>'}</tbody></table>`;
}

const evTime = (e) => e.lastTimestamp || e.eventTime || e.metadata.creationTimestamp || '';
const byTime = (a, b) => evTime(b).localeCompare(evTime(a));
function eventTable(evs) {
  if (!evs.length) return '<p class="empty">No events</p>';
  return `<table class="grid"><thead><tr><th>Type</th><th>Reason</th><th>Object</th><th>Message</th><th>Count</th><th>Last seen</th></tr></thead><tbody>${evs.map((e) => {
    const io = e.involvedObject || e.regarding || {};
    return `<tr class="${e.type === 'Warning' ? 'warning' : ''}"><td>${dot(e.type === 'Warning' ? 'bad' : 'ok')}${esc(e.type)}</td><td>${esc(e.reason)}</td>
      <td>${io.name ? objLink(io.kind, { metadata: { namespace: io.namespace || e.metadata.namespace, name: io.name } }, (io.kind || '') + '/' + io.name) : ''}</td>
      <td>${esc(e.message || e.note)}</td><td>${e.count || 1}</td><td>${age(evTime(e))}</td></tr>`;
  }).join('')}</tbody></table>`;
}
function events() {
  const evs = list('events').sort(byTime);
  out.html = `<h2>Events <span class="count">${evs.length}</span></h2>${eventTable(evs.slice(0, 500))}`;
}

function topology() {
  out.html = `<h2>Topology</h2><p class="muted legend-line">${dot('ok')}healthy ${dot('warn')}starting ${dot('bad')}failing · solid line: ready endpoint, dashed: not ready</p>
    <div class="topo">${renderTopology({
      services: list('services'), pods: list('pods'), replicasets: list('replicasets.apps'), deployments: list('deployments.apps'),
      endpointsOf, podHealth, workloadHealth, link: (kind, o) => href('object', [kind, o.metadata.namespace || '', o.metadata.name]),
    })}</div>`;
}

function logs() {
  const [pns, name] = route.args;
  const pod = cluster.get('pods').get(pns + '/' + name);
  const containers = (pod?.spec?.containers || []).map((c) => c.name);
  const container = route.params.get('container') || containers[0] || '';
  view.innerHTML = `<h2>Logs · <a href="${href('object', ['Pod', pns, name])}">${esc(pns)}/${esc(name)}</a></h2>
    <div class="toolbar">${containers.length > 1 ? containers.map((c) => `<a class="btn small ${c === container ? 'active' : ''}" href="${href('logs', [pns, name], { container: c })}">${esc(c)}</a>`).join('') : ''}
    <span id="log-state" class="muted">connecting…</span><label><input type="checkbox" id="log-follow" checked> follow</label></div>
    <pre id="log" class="log"></pre>`;
  const out = $('#log');
  const ctrl = new AbortController();
  logAbort = ctrl;
  const q = new URLSearchParams({ follow: 'true', tailLines: '1000' });
  if (container) q.set('container', container);
  const append = (text) => {
    out.append(document.createTextNode(text));
    if (out.textContent.length > 2_000_000) out.textContent = out.textContent.slice(-1_000_000);
    if ($('#log-follow')?.checked) out.scrollTop = out.scrollHeight;
  };
  (async () => {
    try {
      const res = await fetch(objectPath('Pod', pns, name) + '/log?' + q, { signal: ctrl.signal, credentials: 'same-origin' });
      if (!res.ok) { const s = await res.json().catch(() => ({})); throw new Error(s.message || 'HTTP ' + res.status); }
      $('#log-state').textContent = 'following';
      let pending = '';
      await readLines(res, (line) => {
        pending += line + '\n';
        if (pending.length === line.length + 1) requestAnimationFrame(() => { append(pending); pending = ''; });
      }, ctrl.signal);
      if (!ctrl.signal.aborted) $('#log-state').textContent = 'stream ended';
    } catch (e) {
      if (e.name !== 'AbortError') { $('#log-state').textContent = ''; $('#log-state').insertAdjacentHTML('afterend', `<span class="error">${esc(e.message)}</span>`); }
    }
  })();
}

async function object() {
  const [kind, ons, name] = route.args;
  const path = objectPath(kind, ons, name);
  view.innerHTML = `<h2>${esc(kind)} · ${esc(ons ? ons + '/' : '')}${esc(name)}</h2><p class="muted">loading…</p>`;
  let obj;
  try { obj = await request('GET', path); } catch (e) { view.innerHTML += `<p class="error">${esc(e.message)}</p>`; return; }
  const fmt = route.params.get('format') === 'json' ? 'json' : 'yaml';
  delete obj.metadata?.managedFields;
  view.innerHTML = `<h2>${esc(kind)} · ${esc(ons ? ons + '/' : '')}${esc(name)}</h2>
    <div class="toolbar"><a class="btn small ${fmt === 'yaml' ? 'active' : ''}" href="${href('object', route.args)}">YAML</a>
    <a class="btn small ${fmt === 'json' ? 'active' : ''}" href="${href('object', route.args, { format: 'json' })}">JSON</a>
    <button class="small" data-action="edit">edit</button>${kind === 'Pod' ? `<a class="btn small" href="${href('logs', [ons, name])}">logs</a>` : ''}</div>
    <pre class="code" id="source">${esc(fmt === 'json' ? JSON.stringify(obj, null, 2) : toYaml(obj))}</pre>
    <div id="editor" hidden><p class="muted">Edit as JSON; Apply replaces the object (PUT). A stale resourceVersion is refused with a conflict.</p>
    <textarea id="edit-text" spellcheck="false"></textarea><div class="toolbar"><button data-action="put" data-path="${esc(path)}">Apply</button><span id="edit-result"></span></div></div>`;
  $('#edit-text').value = JSON.stringify(obj, null, 2);
}

function apply() {
  view.innerHTML = `<h2>Create or apply</h2><p class="muted">Paste a JSON object (or a List). Objects that exist are replaced (PUT), the others created (POST).</p>
  <textarea id="edit-text" spellcheck="false" placeholder='{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "demo", "namespace": "default"}, "data": {"k": "v"}}'></textarea>
  <div class="toolbar"><button data-action="apply">Apply</button><span id="edit-result"></span></div>`;
}

// ---- actions ----

async function applyObject(o) {
  if (!o.kind || !o.metadata?.name) throw new Error('an object needs kind and metadata.name');
  const ons = o.metadata.namespace || ns() || 'default';  // ignored for cluster-scoped kinds
  try {
    await request('GET', objectPath(o.kind, ons, o.metadata.name));
  } catch (e) {
    if (e.status !== 404) throw e;
    await request('POST', objectPath(o.kind, ons), o);
    return 'created';
  }
  await request('PUT', objectPath(o.kind, ons, o.metadata.name), o);
  return 'configured';
}

async function act(el) {
  const a = el.dataset.action;
  const d = el.dataset;
  if (a === 'status') return loadStatus();
  if (a === 'edit') { $('#editor').hidden = false; $('#source').hidden = true; return; }
  if (a === 'delete') {
    if (!confirm(`Delete ${d.kind} ${d.ns}/${d.name}?`)) return;
    await request('DELETE', objectPath(d.kind, d.ns, d.name));
    return toast(`${d.kind} ${d.name} deleted`);
  }
  if (a === 'scale') {
    const dep = cluster.get('deployments.apps').get(d.ns + '/' + d.name);
    const replicas = Math.max(0, (dep?.spec?.replicas ?? 1) + Number(d.delta));
    await request('PATCH', objectPath('Deployment', d.ns, d.name) + '/scale', { spec: { replicas } }, 'application/merge-patch+json');
    return toast(`${d.name} scaled to ${replicas}`);
  }
  if (a === 'restart') {
    const patch = { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } } };
    await request('PATCH', objectPath('Deployment', d.ns, d.name), patch, 'application/strategic-merge-patch+json');
    return toast(`${d.name} restarting`);
  }
  if (a === 'put' || a === 'apply') {
    const result = $('#edit-result');
    result.className = '';
    result.textContent = 'applying…';
    try {
      const o = JSON.parse($('#edit-text').value);
      const items = o.kind?.endsWith('List') && Array.isArray(o.items) ? o.items : [o];
      const done = [];
      for (const it of items) done.push(`${it.kind} ${it.metadata?.name} ${a === 'put' ? (await request('PUT', d.path, it), 'configured') : await applyObject(it)}`);
      result.className = 'ok-text';
      result.textContent = done.join(', ');
      if (a === 'put') setTimeout(() => route.name === 'object' && object(), 600);
    } catch (e) {
      result.className = 'error';
      result.textContent = e.message;
    }
  }
}

function toast(text, bad = false) {
  const t = document.createElement('div');
  t.className = 'toast' + (bad ? ' bad' : '');
  t.textContent = text;
  $('#toasts').append(t);
  setTimeout(() => t.remove(), bad ? 8000 : 3000);
}

document.addEventListener('click', (e) => {
  const el = e.target.closest('[data-action]');
  if (!el) return;
  e.preventDefault();
  act(el).catch((err) => toast(err.message, true));
});
$('#ns').addEventListener('change', (e) => {
  const p = new URLSearchParams(route.params);
  if (e.target.value) p.set('ns', e.target.value); else p.delete('ns');
  const q = p.toString();
  location.hash = '#/' + [route.name, ...route.args.map(encodeURIComponent)].join('/') + (q ? '?' + q : '');
});
window.addEventListener('hashchange', onRoute);
setInterval(scheduleRender, 5000);  // ages tick; no request is made
onRoute();
cluster.start();
