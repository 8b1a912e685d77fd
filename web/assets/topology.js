// The topology map as one SVG string: Services → (endpoints) → Pods → ReplicaSets → Deployments.
// Columns left to right; each node sits near the pods it is linked to; colours are health.
import { esc } from './lib.js';

const W = 210, H = 30, GAP = 10, COLX = [20, 330, 640, 920];

const owner = (o, kind) => (o.metadata.ownerReferences || []).find((r) => r.kind === kind)?.name;
const nsName = (o) => o.metadata.namespace + '/' + o.metadata.name;

/** Places nodes at their wanted y (sorted), pushing each down to keep GAP between boxes. */
function place(nodes) {
  nodes.sort((a, b) => a.want - b.want);
  let y = 40;
  // Nodes linked to nothing (want = Infinity) follow the others.
  for (const n of nodes) { n.y = Number.isFinite(n.want) ? Math.max(y, n.want) : y; y = n.y + H + GAP; }
  return y;
}

function box(n, x, label, kind) {
  const text = label.length > 27 ? label.slice(0, 26) + '…' : label;
  return `<a href="${esc(n.href)}"><g class="node ${n.health}" transform="translate(${x},${n.y})"><title>${esc(kind + ' ' + label)}</title>
    <rect width="${W}" height="${H}" rx="6"/><circle cx="14" cy="${H / 2}" r="5"/><text x="26" y="${H / 2 + 4}">${esc(text)}</text></g></a>`;
}

function edge(x1, y1, x2, y2, cls) {
  const mx = (x1 + x2) / 2;
  return `<path class="edge ${cls}" d="M${x1},${y1 + H / 2} C${mx},${y1 + H / 2} ${mx},${y2 + H / 2} ${x2},${y2 + H / 2}"/>`;
}

export function renderTopology({ services, pods, replicasets, deployments, endpointsOf, podHealth, workloadHealth, link }) {
  const deps = new Map(deployments.map((d) => [nsName(d), { o: d, health: workloadHealth(d), href: link('Deployment', d) }]));
  const rss = new Map(replicasets.map((r) => [nsName(r), { o: r, health: workloadHealth(r), href: link('ReplicaSet', r) }]));
  const podNodes = pods.map((p) => ({ o: p, health: podHealth(p), href: link('Pod', p) }));
  const groupKey = (p) => {
    const rs = owner(p.o, 'ReplicaSet');
    const r = rs && rss.get(p.o.metadata.namespace + '/' + rs);
    const d = r && owner(r.o, 'Deployment');
    return [p.o.metadata.namespace, d || '~', rs || '~', p.o.metadata.name].join('\u0000');
  };
  podNodes.sort((a, b) => groupKey(a).localeCompare(groupKey(b)));
  let y = 40;
  const podByName = new Map();
  for (const p of podNodes) { p.y = y; y += H + GAP; podByName.set(nsName(p.o), p); }
  const height = Math.max(y, 120);

  const svcNodes = services.map((s) => {
    const eps = endpointsOf(s).map((e) => ({ ...e, node: e.pod && podByName.get(s.metadata.namespace + '/' + e.pod) })).filter((e) => e.node);
    const ready = eps.filter((e) => e.ready).length;
    const health = !s.spec?.selector ? 'ok' : ready ? (ready < eps.length ? 'warn' : 'ok') : 'bad';
    const want = eps.length ? eps.reduce((a, e) => a + e.node.y, 0) / eps.length : Infinity;
    return { o: s, eps, health, want, href: link('Service', s) };
  });
  for (const [, r] of rss) {
    const mine = podNodes.filter((p) => p.o.metadata.namespace === r.o.metadata.namespace && owner(p.o, 'ReplicaSet') === r.o.metadata.name);
    r.pods = mine;
    r.want = mine.length ? mine.reduce((a, p) => a + p.y, 0) / mine.length : Infinity;
  }
  const rsList = [...rss.values()];
  const h1 = place(svcNodes), h2 = place(rsList);
  for (const [, d] of deps) {
    const mine = rsList.filter((r) => r.o.metadata.namespace === d.o.metadata.namespace && owner(r.o, 'Deployment') === d.o.metadata.name);
    d.rss = mine;
    d.want = mine.length ? mine.reduce((a, r) => a + r.y, 0) / mine.length : Infinity;
  }
  const depList = [...deps.values()];
  const h3 = place(depList);
  const total = Math.max(height, h1, h2, h3) + 10;

  const out = [];
  for (const s of svcNodes) for (const e of s.eps) out.push(edge(COLX[0] + W, s.y, COLX[1], e.node.y, e.ready ? 'ready' : 'notready'));
  for (const r of rsList) for (const p of r.pods) out.push(edge(COLX[1] + W, p.y, COLX[2], r.y, 'own'));
  for (const d of depList) for (const r of d.rss) out.push(edge(COLX[2] + W, r.y, COLX[3], d.y, 'own'));
  for (const s of svcNodes) out.push(box(s, COLX[0], s.o.metadata.name, 'Service'));
  for (const p of podNodes) out.push(box(p, COLX[1], p.o.metadata.name, 'Pod'));
  for (const r of rsList) out.push(box(r, COLX[2], r.o.metadata.name, 'ReplicaSet'));
  for (const d of depList) out.push(box(d, COLX[3], d.o.metadata.name, 'Deployment'));
  const heads = ['Services', 'Pods', 'ReplicaSets', 'Deployments'].map((t, i) => `<text class="head" x="${COLX[i]}" y="20">${t}</text>`).join('');
  if (!svcNodes.length && !podNodes.length && !rsList.length && !depList.length) return '<p class="empty">Nothing to show in this namespace</p>';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${COLX[3] + W + 20}" height="${total}" viewBox="0 0 ${COLX[3] + W + 20} ${total}">${heads}${out.join('')}</svg>`;
}
