/* The tape page (inspect_html.c). Reads the trace (tg_tape_json) and the
 * stepper's data (tg_stepper_json) from the page, lays the graph out, draws
 * it as SVG, and shows one position at a time: 0 .. N-1 the forward pass
 * node by node, N .. N+M-1 the backward pass over the M nodes a gradient
 * reached, as `tapegrad step` does in a terminal. */
'use strict';

const trace = JSON.parse(document.getElementById('tg-trace').textContent);
const steps = JSON.parse(document.getElementById('tg-steps').textContent);
const nodes = trace.nodes;
const leaves = trace.leaves;
const N = nodes.length;
const backward = steps.backward;
const total = N + backward.length;
const SHOWN = 8; /* values shown per tensor in the panel */

const byId = new Map();
nodes.forEach((n) => byId.set(n.id, n));
leaves.forEach((l) => byId.set(l.id, l));
/* the trace's "?" for an input it could not place */
byId.set('?', { id: '?', kind: 'data', name: '?', shape: [], numel: 0, values: [], x: 0, y: 0 });
const bwPos = new Map(); /* node index -> position in backward */
backward.forEach((i, k) => bwPos.set(i, k));
const contribsOf = new Map(); /* node index -> what its backward added */
steps.contributions.forEach((c) => {
  if (!contribsOf.has(c.node)) contribsOf.set(c.node, []);
  contribsOf.get(c.node).push(c);
});

/* ---- layout -------------------------------------------------------------
 * A column per scope that has nodes of its own, in depth-first order of the
 * scope tree (so each scope's columns are adjacent and its box can enclose
 * them), nodes in execution order down their column, each as high as its
 * inputs allow (one row below the lowest of them). Parameters and data,
 * which no node produced, sit in a band above, each drawn once. */
const NODE_W = 150, NODE_H = 36, ROW_H = 62, GAP = 26, PAD = 8, LABEL = 14;
const LEAF_W = 130, LEAF_H = 34, MARGIN = 16;

function depthOf(path) { return path === '' ? 0 : path.split('.').length; }
function parentOf(path) {
  const cut = path.lastIndexOf('.');
  return cut < 0 ? '' : path.slice(0, cut);
}

const scopes = new Map(); /* path -> {path, children, own, depth} */
function scope(path) {
  if (!scopes.has(path)) {
    const s = { path, children: [], own: [], depth: depthOf(path) };
    scopes.set(path, s);
    if (path !== '') scope(parentOf(path)).children.push(s);
  }
  return scopes.get(path);
}
scope('');
nodes.forEach((n) => scope(n.scope).own.push(n.index));

const columns = []; /* scopes with nodes of their own, in drawing order */
(function order(s) {
  if (s.own.length) columns.push(s);
  s.children.forEach(order);
})(scope(''));

function sharedDepth(a, b) {
  const x = a.split('.'), y = b.split('.');
  let d = 0;
  while (a !== '' && b !== '' && d < x.length && d < y.length && x[d] === y[d]) d++;
  return d;
}

/* x of each column: enough room between two for the boxes that close and
 * open there */
let x = MARGIN + PAD * (columns.length ? columns[0].depth : 0);
columns.forEach((s, c) => {
  if (c > 0) {
    const prev = columns[c - 1], d = sharedDepth(prev.path, s.path);
    x += NODE_W + GAP + PAD * (prev.depth - d + s.depth - d);
  }
  s.x = x;
});
const lastCol = columns[columns.length - 1];
const graphW = Math.max(lastCol ? lastCol.x + NODE_W + PAD * lastCol.depth + MARGIN : 0, 600);

const perRow = Math.max(1, Math.floor((graphW - 2 * MARGIN + GAP) / (LEAF_W + GAP)));
leaves.forEach((l, k) => {
  l.x = MARGIN + (k % perRow) * (LEAF_W + GAP);
  l.y = MARGIN + Math.floor(k / perRow) * (LEAF_H + GAP);
});
const leafRows = Math.ceil(leaves.length / perRow);
let maxDepth = 0;
scopes.forEach((s) => { maxDepth = Math.max(maxDepth, s.depth); });
const nodesTop = MARGIN + leafRows * (LEAF_H + GAP) + 20 + (PAD + LABEL) * maxDepth;

const colOf = new Map();
columns.forEach((s) => s.own.forEach((i) => colOf.set(i, s)));
const lastRow = new Map();
let rows = 0;
nodes.forEach((n) => {
  const s = colOf.get(n.index);
  let r = lastRow.has(s) ? lastRow.get(s) + 1 : 0;
  n.inputs.forEach((id) => {
    const m = byId.get(id);
    if (m && m.index !== undefined) r = Math.max(r, m.row + 1);
  });
  lastRow.set(s, r);
  n.row = r;
  n.x = s.x;
  n.y = nodesTop + r * ROW_H;
  rows = Math.max(rows, r + 1);
});
const graphH = nodesTop + rows * ROW_H + PAD * maxDepth + MARGIN;

/* each scope's box: its nodes and its children's boxes, with a margin */
function box(s) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  s.own.forEach((i) => {
    const n = nodes[i];
    x0 = Math.min(x0, n.x); y0 = Math.min(y0, n.y);
    x1 = Math.max(x1, n.x + NODE_W); y1 = Math.max(y1, n.y + NODE_H);
  });
  s.children.forEach((c) => {
    const b = box(c);
    x0 = Math.min(x0, b.x0); y0 = Math.min(y0, b.y0);
    x1 = Math.max(x1, b.x1); y1 = Math.max(y1, b.y1);
  });
  s.box = { x0: x0 - PAD, y0: y0 - PAD - LABEL, x1: x1 + PAD, y1: y1 + PAD };
  return s.box;
}
scope('').children.forEach(box);

/* ---- drawing ------------------------------------------------------------ */
const SVG = 'http://www.w3.org/2000/svg'; /* a namespace name, not a fetch */
function el(tag, attrs, parent) {
  const e = document.createElementNS(SVG, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}
function text(parent, x, y, s) {
  const t = el('text', { x, y }, parent);
  t.textContent = s.length > 24 ? s.slice(0, 23) + '\u2026' : s;
  return t;
}
function shapeStr(shape) { return '[' + shape.join(',') + ']'; }
function shortName(n) { return n.label ? n.label : ''; }

const svg = el('svg', { width: graphW, height: graphH, viewBox: `0 0 ${graphW} ${graphH}` });
const defs = el('defs', {}, svg);
[['arrow', '#9a9a9a'], ['arrow-fw', '#1f5fbf'], ['arrow-bw', '#c4501b']].forEach(([id, c]) => {
  const m = el('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7,
                           markerHeight: 7, orient: 'auto-start-reverse' }, defs);
  el('path', { d: 'M0,0 L10,5 L0,10 z', fill: c }, m);
});

const layerScopes = el('g', {}, svg), layerEdges = el('g', {}, svg), layerNodes = el('g', {}, svg);
scopes.forEach((s) => {
  if (s.path === '') return;
  const g = el('g', { class: 'scope' }, layerScopes);
  el('rect', { x: s.box.x0, y: s.box.y0, width: s.box.x1 - s.box.x0,
               height: s.box.y1 - s.box.y0, rx: 6 }, g);
  text(g, s.box.x0 + 6, s.box.y0 + LABEL - 2, s.path.slice(s.path.lastIndexOf('.') + 1));
});

/* edges from every input to its reader: from the bottom centre to the top,
 * spread by argument position, bent aside when they would cross other nodes
 * of the same column */
const edgeEls = trace.edges.map((e) => {
  const a = byId.get(e.from), b = nodes[+e.to.slice(1)];
  const fromLeaf = a.index === undefined;
  const x1 = a.x + (fromLeaf ? LEAF_W : NODE_W) / 2, y1 = a.y + (fromLeaf ? LEAF_H : NODE_H);
  const x2 = b.x + (NODE_W * (e.arg + 1)) / (b.inputs.length + 1), y2 = b.y, dy = y2 - y1;
  let d;
  if (!fromLeaf && a.x === b.x && b.row - a.row > 1) {
    const side = b.x + NODE_W * 1.1;
    d = `M${x1 + 30},${y1} C${side},${y1 + 30} ${side},${y2 - 30} ${x2},${y2}`;
  } else {
    const k = Math.min(60, Math.max(20, dy / 2));
    d = `M${x1},${y1} C${x1},${y1 + k} ${x2},${y2 - k} ${x2},${y2}`;
  }
  const p = el('path', { d, class: 'edge' + (fromLeaf ? ' from-leaf' : '') }, layerEdges);
  return { e, p, base: 'edge' + (fromLeaf ? ' from-leaf' : '') };
});

const nodeEls = nodes.map((n) => {
  const g = el('g', { id: 'node-' + n.id, class: 'node', transform: `translate(${n.x},${n.y})` },
               layerNodes);
  el('rect', { width: NODE_W, height: NODE_H, rx: 8 }, g);
  const name = shortName(n);
  text(g, NODE_W / 2, 15, '#' + n.index + (name ? ' ' + name : ''));
  text(g, NODE_W / 2, 29, n.op + ' ' + shapeStr(n.shape));
  el('title', {}, g).textContent = `#${n.index} ${n.name} (${n.op})`;
  g.addEventListener('click', () => go(phaseOf(pos) === 'backward' && bwPos.has(n.index)
                                       ? N + bwPos.get(n.index) : n.index));
  return g;
});
const leafEls = leaves.map((l) => {
  const g = el('g', { id: 'leaf-' + l.id, class: 'leaf ' + l.kind,
                      transform: `translate(${l.x},${l.y})` }, layerNodes);
  el('rect', { width: LEAF_W, height: LEAF_H, rx: 2 }, g);
  text(g, LEAF_W / 2, 14, l.name || l.id);
  text(g, LEAF_W / 2, 28, l.kind + ' ' + shapeStr(l.shape));
  el('title', {}, g).textContent = `${l.kind} ${l.name || l.id}`;
  return g;
});
document.getElementById('graph').appendChild(svg);

/* ---- the panel ---------------------------------------------------------- */
function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;',
                                                 '"': '&quot;' })[c]);
}
/* 4 significant digits, as the terminal stepper prints them */
function num(v) { return v === null ? 'nan' : String(Number(v.toPrecision(4))); }
function nums(list, numel, k) {
  const shown = list.slice(0, k).map(num).join(' ');
  return numel > k ? shown + ' \u2026' : shown;
}
function who(id) {
  const t = byId.get(id);
  if (t.index !== undefined) return `#${t.index}${t.name ? ' ' + t.name : ''}`;
  return `${t.kind} ${t.name || t.id}`;
}
function phaseOf(p) { return p < N ? 'forward' : 'backward'; }
function nodeAt(p) { return p < N ? nodes[p] : nodes[backward[p - N]]; }

function forwardPanel(n) {
  let h = '<h3>reads</h3><table>';
  n.inputs.forEach((id) => {
    const t = byId.get(id);
    h += `<tr><td>${esc(who(id))}</td><td>${shapeStr(t.shape)}</td>` +
         `<td class="values">${nums(t.values, t.numel, 4)}</td></tr>`;
  });
  if (!n.inputs.length) h += '<tr><td class="note">nothing: a constant</td></tr>';
  h += '</table>';
  h += `<h3>value</h3><div class="values" id="panel-value">${nums(n.values, n.numel, SHOWN)}</div>`;
  return h;
}

function backwardPanel(n) {
  let h = `<h3>gradient arriving <span class="norm">|g| ${num(n.grad_norm)}</span></h3>` +
          `<div class="values" id="panel-grad">${nums(n.grad, n.numel, SHOWN)}</div>`;
  const from = steps.contributions.filter((c) => c.into === n.id);
  h += '<h3>it came from</h3><table>';
  from.forEach((c) => {
    const src = nodes[c.node];
    h += `<tr><td>${esc(who(src.id))} (${src.op})</td><td class="norm">|+| ${num(c.norm)}</td>` +
         `<td class="values">${nums(c.values, n.numel, 4)}</td></tr>`;
  });
  if (!from.length) h += '<tr><td class="note">the seed: backward started here</td></tr>';
  h += '</table><h3>it adds (+=) to its inputs\u2019 gradients</h3><table id="panel-adds">';
  const mine = contribsOf.get(n.index) || [];
  n.inputs.forEach((id, k) => {
    const c = mine.find((m) => m.arg === k);
    const t = byId.get(id);
    if (!c) {
      if (n.inputs.indexOf(id) === k) /* else: shown at its first position */
        h += `<tr><td colspan="3" class="note">${esc(who(id))} needs no gradient</td></tr>`;
      return;
    }
    h += `<tr><td>${esc(who(id))} ${shapeStr(t.shape)}</td><td class="norm">|+| ${num(c.norm)}` +
         `</td><td class="values">${nums(c.values, t.numel, 4)}</td></tr>`;
    if (c.uses === 1) {
      h += '<tr><td colspan="3" class="note">its whole gradient</td></tr>';
    } else {
      h += `<tr><td class="note">use ${c.use} of ${c.uses}, grad now</td>` +
           `<td class="norm">|g| ${num(c.sum_norm)}</td>` +
           `<td class="values">${nums(c.sum, t.numel, 4)}</td></tr>`;
      if (c.use === c.uses && c.equal)
        h += `<tr><td colspan="3" class="note">all ${c.uses} in: equal to the tape's gradient` +
             '</td></tr>';
    }
    if (c.use === c.uses && !c.equal)
      h += `<tr><td colspan="3" class="note">differs from the tape's gradient by up to ` +
           `${num(c.max_diff)} (was it zeroed before backward?)</td></tr>`;
  });
  return h + '</table>';
}

/* ---- moving ------------------------------------------------------------- */
const slider = document.getElementById('slider');
const where = document.getElementById('where');
const panel = document.getElementById('panel');
slider.max = Math.max(0, total - 1);
const legend = document.createElement('div');
legend.className = 'legend';
legend.innerHTML = '<span class="fw"></span>forward <span class="bw"></span>backward ' +
                   '<span class="param"></span>parameter <span class="data"></span>data ' +
                   '&nbsp; arrow keys or #step=K in the address to move';
document.querySelector('header').appendChild(legend);
let pos = 0;

function show(p) {
  pos = p;
  const n = nodeAt(p), phase = phaseOf(p);
  const k = phase === 'forward' ? p : p - N;
  const reads = new Set(n.inputs);
  const receives = new Set((contribsOf.get(n.index) || []).map((c) => c.into));
  nodes.forEach((m, i) => {
    let state;
    if (i === n.index) state = 'current ' + phase;
    else if (phase === 'forward') state = i < n.index ? 'done' : 'pending';
    else if (!bwPos.has(i)) state = 'no-grad';
    else state = bwPos.get(i) < k ? 'grad-done' : 'grad-pending';
    if (phase === 'forward' && reads.has(m.id)) state += ' reads';
    if (phase === 'backward' && receives.has(m.id)) state += ' receives';
    nodeEls[i].setAttribute('class', 'node ' + state);
  });
  leaves.forEach((l, i) => {
    let state = '';
    if (phase === 'forward' && reads.has(l.id)) state = ' reads';
    if (phase === 'backward' && receives.has(l.id)) state = ' receives';
    leafEls[i].setAttribute('class', 'leaf ' + l.kind + state);
  });
  edgeEls.forEach(({ e, p: path, base }) => {
    let extra = '';
    if (e.to === n.id) {
      if (phase === 'forward') extra = ' active';
      else if (receives.has(e.from)) extra = ' active-bw';
    }
    path.setAttribute('class', base + extra);
  });
  const count = phase === 'forward' ? N : backward.length;
  where.textContent = `${phase} ${k + 1}/${count}`;
  panel.setAttribute('data-node', n.id);
  panel.setAttribute('data-phase', phase);
  panel.innerHTML =
    `<span class="phase ${phase}">${phase} ${k + 1} of ${count}</span>` +
    `<h2 id="panel-title">#${n.index}${n.name ? ' ' + esc(n.name) : ''}</h2><table>` +
    `<tr><th>op</th><td id="panel-op">${esc(n.op)}</td></tr>` +
    `<tr><th>scope</th><td>${esc(n.scope || '(none)')}</td></tr>` +
    `<tr><th>label</th><td>${esc(n.label || '(none)')}</td></tr>` +
    `<tr><th>shape</th><td>${shapeStr(n.shape)} (${n.numel} values)</td></tr></table>` +
    (phase === 'forward' ? forwardPanel(n) : backwardPanel(n));
  slider.value = p;
  nodeEls[n.index].scrollIntoView({ block: 'nearest', inline: 'nearest' });
}

function go(p) {
  if (!total) return;
  p = Math.min(total - 1, Math.max(0, p | 0));
  show(p);
  try { history.replaceState(null, '', '#step=' + p); } catch (err) { /* a file: page may refuse */ }
}

function fromHash() {
  const m = /step=(\d+)/.exec(location.hash);
  return m ? +m[1] : 0;
}

slider.addEventListener('input', () => go(+slider.value));
document.getElementById('prev').addEventListener('click', () => go(pos - 1));
document.getElementById('next').addEventListener('click', () => go(pos + 1));
window.addEventListener('hashchange', () => { if (fromHash() !== pos) go(fromHash()); });
document.addEventListener('keydown', (ev) => {
  if (ev.target === slider) return; /* the slider moves itself */
  const to = { ArrowRight: pos + 1, ArrowDown: pos + 1, ArrowLeft: pos - 1, ArrowUp: pos - 1,
               Home: 0, End: total - 1 }[ev.key];
  if (to === undefined) return;
  ev.preventDefault();
  go(to);
});

if (total) show(Math.min(total - 1, fromHash()));
else panel.textContent = 'The tape has no nodes.';
