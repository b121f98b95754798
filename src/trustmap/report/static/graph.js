/* trustmap graph viewer: a layered (dagre) picture of the allowed flows, aggregated by namespace
 * or team when the organisation is large, with drill-down, search and a details panel.
 * Reads the graph from <script type="application/json" id="data">; no inline script, no network. */
(function () {
  "use strict";
  const DETAIL_LIMIT = 80;   // services drawn one by one without drilling down
  const LABEL_LIMIT = 30;    // edges labelled in place; above, labels are on hover only
  const GROUP_LIMIT = 40;    // a drilled-down group larger than this is split by the other dimension
  const OUTSIDE_LIMIT = 24;  // links from a drilled-down group to the rest, the heaviest drawn
  const FAN_LIMIT = 12;      // a caller of more services than this (a metrics scraper) is listed, not drawn
  const LINK_LIMIT = 45;     // an aggregated picture draws at most this many group links, the heaviest
  const SVGNS = "http://www.w3.org/2000/svg";
  const G = JSON.parse(document.getElementById("data").textContent);
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, text) => {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => e.setAttribute(k, v));
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const sv = (tag, attrs, text) => {
    const e = document.createElementNS(SVGNS, tag);
    Object.entries(attrs || {}).forEach(([k, v]) => e.setAttribute(k, v));
    if (text !== undefined) e.textContent = text;
    return e;
  };

  const services = {};
  G.services.forEach((s) => { services[s.ref] = s; });
  const owners = Object.fromEntries(G.teams.map((t) => [t.name, t.owners]));
  const into = {}, outOf = {}, egressOf = {}, rejectedOf = {};
  const push = (map, key, value) => { (map[key] = map[key] || []).push(value); };
  G.edges.forEach((e) => { push(into, e.target, e); push(outOf, e.source, e); });
  G.egress.forEach((x) => push(egressOf, x.source, x));
  G.rejected.forEach((r) => push(rejectedOf, r.source, r));
  const namespaces = [...new Set(G.services.map((s) => s.namespace))].sort();
  const state = {
    groupBy: namespaces.length <= 30 ? "namespace" : "team",
    focus: {},            // {namespace?, team?}
    q: "",
    selected: null,
  };

  // --- what to draw --------------------------------------------------------------------------
  const matches = (s) => !state.q || s.ref.toLowerCase().includes(state.q) ||
    s.team.toLowerCase().includes(state.q);
  const inFocus = (s) => (!state.focus.namespace || s.namespace === state.focus.namespace) &&
    (!state.focus.team || s.team === state.focus.team);
  const other = (dim) => (dim === "namespace" ? "team" : "namespace");
  const groupKey = (dim, value) => "group:" + dim + ":" + value;

  function view() {
    const focused = G.services.filter(inFocus);
    const detailed = Object.keys(state.focus).length > 0 || G.services.length <= DETAIL_LIMIT;
    if (!detailed) return aggregate(G.services, state.groupBy);
    if (focused.length > GROUP_LIMIT) {
      const dim = state.focus.namespace ? "team" : state.focus.team ? "namespace" : state.groupBy;
      return aggregate(focused, dim, true);
    }
    return detail(focused);
  }

  function peerId(edge) {
    if (edge.sourceKind === "service") return edge.source;
    return "peer:" + edge.source;
  }

  function aggregate(members, dim, scoped) {
    const nodes = {}, edges = {};
    const inScope = new Set(members.map((s) => s.ref));
    const OUT = groupKey("outside", "outside");
    const home = (ref) => {
      const s = services[ref];
      if (!s) return null;
      if (inScope.has(ref)) return groupKey(dim, s[dim]);
      return scoped ? OUT : null;
    };
    members.forEach((s) => {
      const key = groupKey(dim, s[dim]);
      const n = nodes[key] = nodes[key] || { id: key, kind: "group", dim, value: s[dim], total: 0, hits: 0 };
      n.total += 1;
      if (matches(s)) n.hits += 1;
    });
    if (scoped) nodes[OUT] = { id: OUT, kind: "outside", total: 0, hits: 1 };
    const link = (from, to, e, kind) => {
      if (!from || !to || from === to) return;
      const key = from + "\u0000" + to;
      const agg = edges[key] = edges[key] || { id: key, from, to, count: 0, items: [], kind };
      agg.count += 1;
      if (agg.items.length < 12) agg.items.push(e);
    };
    G.edges.forEach((e) => {
      const to = home(e.target);
      if (!to) return;
      let from = e.sourceKind === "service" ? home(e.source) : "peer:" + e.source;
      if (to === OUT && !(from || "").startsWith("group:")) return;  // callers of the rest: not this picture
      if (from && from.startsWith("peer:") && !nodes[from]) nodes[from] = { id: from, kind: "peer", label: e.source, hits: 1 };
      link(from, to, e, e.kind);
    });
    G.egress.forEach((x) => {
      const from = home(x.source);
      if (!from || from === OUT) return;
      const to = "ext:" + x.destination;
      if (!nodes[to]) nodes[to] = { id: to, kind: "ext", label: x.destination, hits: 1 };
      link(from, to, x, "egress");
    });
    return heaviest(prune(nodes, edges));
  }

  function heaviest(model) {
    // A dense organisation links every group to every other: draw the heaviest dependency links
    // (the rest are one click away in the drill-down) and a few infrastructure links, and say so.
    const infra = (e) => e.kind === "platform" || e.kind === "ingress" || e.kind === "world";
    const order = (a, b) => b.count - a.count || (a.id < b.id ? -1 : 1);
    const deps = model.edges.filter((e) => !infra(e)).sort(order);
    const platform = model.edges.filter(infra).sort(order);
    if (deps.length + platform.length <= LINK_LIMIT) return model;
    const kept = [...deps.slice(0, LINK_LIMIT), ...platform.slice(0, 8)];
    const used = new Set(kept.flatMap((e) => [e.from, e.to]));
    return {
      nodes: model.nodes.filter((n) => n.kind === "group" || used.has(n.id)),
      edges: kept,
      omitted: model.edges.length - kept.length,
    };
  }

  function detail(members) {
    const nodes = {}, edges = {};
    const inScope = new Set(members.map((s) => s.ref));
    // cluster ids never equal a group node's id (a cluster cannot be an edge's end)
    const cluster = (s) => "cluster:" + (state.focus.team ? "namespace:" + s.namespace : "team:" + s.team);
    members.forEach((s) => {
      const parent = cluster(s);
      if (!nodes[parent]) nodes[parent] = { id: parent, kind: "cluster", label: parent.split(":").slice(1).join(" "), hits: 0 };
      if (matches(s)) nodes[parent].hits += 1;
      nodes[s.ref] = { id: s.ref, kind: "service", label: s.name, service: s, parent, hits: matches(s) ? 1 : 0 };
    });
    // the rest of the organisation, grouped like the focus: other teams, or other namespaces
    const dim = state.focus.team ? "team" : state.focus.namespace ? "namespace" : state.groupBy;
    const outside = (ref) => {
      const s = services[ref];
      const key = groupKey(dim, s ? s[dim] : ref);
      if (!nodes[key]) nodes[key] = { id: key, kind: "group", dim, value: s ? s[dim] : ref, total: 0, hits: 1, outside: true };
      return key;
    };
    let serial = 0;
    const link = (from, to, e, kind, single) => {
      const key = single ? "e:" + (serial += 1) : from + "\u0000" + to;
      const agg = edges[key] = edges[key] || { id: key, from, to, count: 0, items: [], kind };
      agg.count += 1;
      if (agg.items.length < 12) agg.items.push(e);
    };
    G.edges.forEach((e) => {
      const srcIn = e.sourceKind === "service" && inScope.has(e.source);
      const dstIn = inScope.has(e.target);
      if (!srcIn && !dstIn) return;
      let from;
      if (srcIn) from = e.source;
      else if (e.sourceKind === "service") from = outside(e.source);
      else { from = "peer:" + e.source; if (!nodes[from]) nodes[from] = { id: from, kind: "peer", label: e.source, hits: 1 }; }
      const to = dstIn ? e.target : outside(e.target);
      link(from, to, e, e.kind, srcIn && dstIn);
    });
    G.egress.forEach((x) => {
      if (!inScope.has(x.source)) return;
      const to = "ext:" + x.destination;
      if (!nodes[to]) nodes[to] = { id: to, kind: "ext", label: x.destination, hits: 1 };
      link(x.source, to, x, "egress", true);
    });
    return trim(prune(nodes, edges));
  }

  function trim(model) {
    // Inside the group every flow is drawn; links to the rest of the organisation are aggregated
    // per group and only the heaviest drawn; a caller of many services is named, not drawn.
    const byId = Object.fromEntries(model.nodes.map((n) => [n.id, n]));
    const fan = {};
    model.edges.forEach((e) => { if (byId[e.from].kind === "peer") fan[e.from] = (fan[e.from] || 0) + 1; });
    const wide = new Set(Object.keys(fan).filter((id) => fan[id] > FAN_LIMIT));
    const inner = (e) => byId[e.from].kind === "service" && (byId[e.to].kind === "service" || byId[e.to].kind === "ext");
    const kept = model.edges.filter((e) => inner(e));
    const rest = model.edges.filter((e) => !inner(e) && !wide.has(e.from))
      .sort((a, b) => b.count - a.count || (a.id < b.id ? -1 : 1));
    kept.push(...rest.slice(0, OUTSIDE_LIMIT));
    const used = new Set(kept.flatMap((e) => [e.from, e.to]));
    const notes = [...wide].map((id) => byId[id].label + " calls " + fan[id] + " of these services (not drawn)");
    return {
      nodes: model.nodes.filter((n) => n.kind === "service" || n.kind === "cluster" || used.has(n.id)),
      edges: kept,
      omitted: model.edges.length - kept.length,
      notes,
    };
  }

  function prune(nodes, edges) {
    // search hides groups (and clusters) with no matching service, and what only they connect
    const hidden = new Set(Object.values(nodes)
      .filter((n) => state.q && (n.kind === "group" || n.kind === "cluster" || n.kind === "service") && !n.hits && !n.outside)
      .map((n) => n.id));
    Object.values(nodes).forEach((n) => { if (n.parent && hidden.has(n.parent)) hidden.add(n.id); });
    const shown = Object.values(edges).filter((e) => !hidden.has(e.from) && !hidden.has(e.to));
    const used = new Set(shown.flatMap((e) => [e.from, e.to]));
    const kept = Object.values(nodes).filter((n) => !hidden.has(n.id) &&
      (n.kind === "service" || n.kind === "cluster" || n.kind === "group" && !n.outside || used.has(n.id)));
    const keptIds = new Set(kept.map((n) => n.id));
    return { nodes: kept, edges: shown.filter((e) => keptIds.has(e.from) && keptIds.has(e.to)) };
  }

  // --- layout and drawing --------------------------------------------------------------------
  function nodeLabel(n) {
    if (n.kind === "group") return [n.dim + " " + n.value, state.q && !n.outside ? n.hits + " of " + n.total + " match" : (n.outside ? "outside" : n.total + " services")];
    if (n.kind === "outside") return ["outside this group", "other services"];
    if (n.kind === "ext") return ["egress " + n.label, "outside the cluster"];
    if (n.kind === "peer") return [n.label.split(":")[0], n.label.split(":").slice(1).join(":")];
    return [n.label];
  }

  function edgeText(e) {
    if (e.count > 1 || e.items.length === 0) return e.count + " flows";
    const x = e.items[0];
    if (e.kind === "egress") return (x.ports || []).map((p) => p.port + "/" + p.protocol).join(",") || "all ports";
    return x.interface + " " + x.port + "/" + x.protocol;
  }

  function edgeTitle(e) {
    const lines = e.items.map((x) => {
      if (e.kind === "egress") return x.source + " → " + x.destination + " " + edgeText({ count: 1, items: [x], kind: "egress" }) + (x.reason ? " — " + x.reason : "");
      const methods = x.methods && x.methods.length ? " methods: " + x.methods.join(", ") : "";
      return x.source + " → " + x.target + " · " + x.interface + " " + x.port + "/" + x.protocol + methods + " (" + x.kind + ")";
    });
    if (e.count > e.items.length) lines.push("… and " + (e.count - e.items.length) + " more");
    return lines.join("\n");
  }

  function scaleFor(g) {
    const box = $("graph").getBoundingClientRect();
    const size = g.graph();
    return Math.min((box.width - 20) / (size.width || 1), (box.height - 20) / (size.height || 1));
  }

  function bestLayout(model) {
    // Left to right reads like a call chain; top to bottom when that draws the picture larger.
    const wide = layout(model, "LR");
    if (scaleFor(wide.g) >= 0.9) return wide;
    const tall = layout(model, "TB");
    return scaleFor(tall.g) > scaleFor(wide.g) * 1.15 ? tall : wide;
  }

  function layout(model, rankdir) {
    const g = new dagre.graphlib.Graph({ compound: true, multigraph: true });
    const aggregated = model.nodes.some((n) => n.kind === "group" && !n.outside);
    g.setGraph({ rankdir, nodesep: 26, ranksep: aggregated ? 50 : 70, edgesep: 8, marginx: 20, marginy: 40 });
    g.setDefaultEdgeLabel(() => ({}));
    model.nodes.forEach((n) => {
      if (n.kind === "cluster") { g.setNode(n.id, { label: n.label, clusterLabelPos: "top", paddingTop: 24 }); return; }
      const lines = nodeLabel(n);
      const width = Math.max(...lines.map((l) => l.length)) * 7.2 + 26;
      g.setNode(n.id, { width, height: lines.length > 1 ? 44 : 30 });
    });
    model.nodes.forEach((n) => { if (n.parent) g.setParent(n.id, n.parent); });
    const labelled = model.edges.length <= LABEL_LIMIT && !aggregated;
    model.edges.forEach((e) => {
      const text = labelled ? edgeText(e) : "";
      g.setEdge(e.from, e.to, { width: text.length * 6.2, height: text ? 14 : 0, labelpos: "c" }, e.id);
    });
    dagre.layout(g);
    return { g, labelled };
  }

  function draw() {
    const model = view();
    const { g, labelled } = bestLayout(model);
    const svg = $("graph");
    svg.replaceChildren();
    const defs = sv("defs");
    ["plain", "ingress", "platform", "world", "egress"].forEach((kind) => {
      const m = sv("marker", { id: "arrow-" + kind, viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "9", markerHeight: "9", markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" });
      m.appendChild(sv("path", { d: "M0,0 L10,5 L0,10 z", class: "head " + kind }));
      defs.appendChild(m);
    });
    svg.appendChild(defs);
    const root = sv("g", { id: "viewport" });
    svg.appendChild(root);
    const byId = Object.fromEntries(model.nodes.map((n) => [n.id, n]));
    model.nodes.filter((n) => n.kind === "cluster").forEach((n) => {
      const box = g.node(n.id);
      const c = sv("g", { class: "cluster" });
      const top = box.y - box.height / 2 - 18;  // room for the label above the members
      c.appendChild(sv("rect", { x: box.x - box.width / 2, y: top, width: box.width, height: box.height + 18, rx: 8 }));
      c.appendChild(sv("text", { x: box.x - box.width / 2 + 8, y: top + 14 }, n.label));
      root.appendChild(c);
    });
    model.edges.forEach((e) => {
      const info = g.edge({ v: e.from, w: e.to, name: e.id });
      const pts = info.points;
      const d = "M" + pts.map((p) => p.x.toFixed(1) + "," + p.y.toFixed(1)).join(" L");
      const kind = ["ingress", "platform", "world", "egress"].includes(e.kind) ? e.kind : "plain";
      const group = sv("g", { class: "edge " + kind, "data-id": e.id });
      const width = e.count > 1 ? Math.min(6, 1.2 + Math.log2(e.count) * 0.8) : 1.4;
      group.appendChild(sv("path", { d, class: "line", "stroke-width": width.toFixed(1), "marker-end": "url(#arrow-" + kind + ")" }));
      group.appendChild(sv("path", { d, class: "hit" }));
      group.appendChild(sv("title", {}, edgeTitle(e)));
      if (labelled) {
        const t = sv("text", { x: info.x, y: info.y + 4, class: "elabel" }, edgeText(e));
        group.appendChild(t);
      }
      group.addEventListener("click", (ev) => { ev.stopPropagation(); showEdge(e); });
      root.appendChild(group);
    });
    model.nodes.filter((n) => n.kind !== "cluster").forEach((n) => {
      const box = g.node(n.id);
      const lines = nodeLabel(n);
      const cls = "node " + n.kind + (n.kind === "service" && state.q && !n.hits ? " dim" : "") +
        (state.selected === n.id ? " sel" : "") + (n.kind === "service" && state.q && n.hits ? " hit" : "");
      const node = sv("g", { class: cls, "data-id": n.id, transform: "translate(" + (box.x - box.width / 2) + "," + (box.y - box.height / 2) + ")" });
      node.appendChild(sv("rect", { width: box.width, height: box.height, rx: n.kind === "service" ? 15 : 6 }));
      lines.forEach((line, i) => node.appendChild(sv("text", { x: 13, y: lines.length > 1 ? 18 + i * 16 : 19, class: i ? "sub" : "" }, line)));
      node.appendChild(sv("title", {}, n.kind === "service" ? n.id : lines.join(" · ")));
      node.addEventListener("click", (ev) => { ev.stopPropagation(); pick(n); });
      root.appendChild(node);
    });
    const size = g.graph();
    fit(size.width || 100, size.height || 100);
    crumbs();
    $("stats").textContent = G.services.length + " services · " + G.edges.length + " allowed flows · " +
      G.egress.length + " egress · drawn: " + model.nodes.filter((n) => n.kind !== "cluster").length + " boxes, " + model.edges.length + " arrows" +
      (model.omitted ? " (" + model.omitted + " lighter links not drawn: drill down)" : "") +
      (model.notes && model.notes.length ? " · " + model.notes.join("; ") : "");
  }

  // --- pan and zoom --------------------------------------------------------------------------
  const camera = { x: 0, y: 0, k: 1 };
  function apply() { $("viewport").setAttribute("transform", "translate(" + camera.x + "," + camera.y + ") scale(" + camera.k + ")"); }
  function fit(width, height) {
    const box = $("graph").getBoundingClientRect();
    camera.k = Math.min(1.2, (box.width - 20) / width, (box.height - 20) / height);
    camera.k = Math.max(camera.k, 0.55);  // legible first; pan (drag) or zoom (wheel) to see the rest
    camera.x = Math.max(10, (box.width - width * camera.k) / 2);
    camera.y = 10;
    apply();
  }
  (function () {
    const svg = $("graph");
    let drag = null;
    svg.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const r = svg.getBoundingClientRect();
      const k = Math.min(4, Math.max(0.1, camera.k * (ev.deltaY < 0 ? 1.15 : 1 / 1.15)));
      const px = ev.clientX - r.left, py = ev.clientY - r.top;
      camera.x = px - (px - camera.x) * (k / camera.k);
      camera.y = py - (py - camera.y) * (k / camera.k);
      camera.k = k;
      apply();
    }, { passive: false });
    svg.addEventListener("mousedown", (ev) => { drag = { x: ev.clientX - camera.x, y: ev.clientY - camera.y }; });
    window.addEventListener("mouseup", () => { drag = null; });
    window.addEventListener("mousemove", (ev) => { if (drag) { camera.x = ev.clientX - drag.x; camera.y = ev.clientY - drag.y; apply(); } });
  })();

  // --- navigation and the side panel ---------------------------------------------------------
  function pick(n) {
    if (n.kind === "group") { state.focus = { ...state.focus, [n.dim]: n.value }; state.selected = null; draw(); showGroup(n); return; }
    if (n.kind === "service") { state.selected = n.id; draw(); showService(n.service); return; }
    if (n.kind === "outside") { back(); return; }
    showText(n.label || n.id, n.kind === "ext" ? "A destination outside the cluster (declared egress)." :
      "Declared in the Organization: it may call the interfaces shown by its arrows.");
  }
  function back() { state.focus = {}; state.selected = null; draw(); panelHelp(); }
  function crumbs() {
    const c = $("crumbs");
    c.replaceChildren();
    const all = el("button", { type: "button" }, "organisation");
    all.addEventListener("click", back);
    c.appendChild(all);
    Object.entries(state.focus).forEach(([dim, value]) => c.appendChild(el("span", {}, " › " + dim + " " + value)));
  }
  const panel = () => { const p = $("panel"); p.replaceChildren(); return p; };
  function panelHelp() {
    const p = panel();
    p.appendChild(el("p", { class: "muted" }, "Click a group to drill down, a service for who calls it and why, an arrow for its interface, port and methods (hover shows them too). Search hides groups without a matching service."));
    results(p);
  }
  function showText(title, text) { const p = panel(); p.appendChild(el("h2", {}, title)); p.appendChild(el("p", { class: "muted" }, text)); }
  function table(p, heading, rows) {
    if (!rows.length) return;
    p.appendChild(el("h4", {}, heading + " (" + rows.length + ")"));
    const t = el("table");
    rows.slice(0, 200).forEach((cells) => { const tr = el("tr"); cells.forEach((c) => tr.appendChild(el("td", {}, c))); t.appendChild(tr); });
    p.appendChild(t);
    if (rows.length > 200) p.appendChild(el("p", { class: "muted" }, "… " + (rows.length - 200) + " more"));
  }
  const methods = (m) => (m && m.length ? m.join(", ") : "all methods");
  function showService(s) {
    const p = panel();
    p.appendChild(el("h2", {}, s.ref));
    p.appendChild(el("p", { class: "muted" }, "team " + s.team + " · owners " + (owners[s.team] || []).join(", ") + " · service account " + (s.serviceAccount || "—")));
    p.appendChild(el("p", { class: "muted" }, "declared at " + s.declaredAt));
    table(p, "Interfaces", s.interfaces.map((i) => [i.name, i.port + "/" + i.protocol, i.exposure, methods(i.methods)]));
    table(p, "Called by", (into[s.ref] || []).map((e) => [e.source, e.interface + " " + e.port + "/" + e.protocol, methods(e.methods), (e.reason || "—") + " · " + e.declaredAt]));
    table(p, "Calls", (outOf[s.ref] || []).map((e) => [e.target, e.interface + " " + e.port + "/" + e.protocol, methods(e.methods), (e.reason || "—") + " · " + e.declaredAt]));
    table(p, "Egress", (egressOf[s.ref] || []).map((x) => [x.destination, (x.ports || []).map((q) => q.port + "/" + q.protocol).join(", ") || "all ports", x.reason || "—", x.declaredAt]));
    table(p, "Left out of every policy", (rejectedOf[s.ref] || []).map((r) => [r.target, r.failed.join("; "), r.declaredAt]));
  }
  function showGroup(n) {
    const p = panel();
    p.appendChild(el("h2", {}, n.dim + " " + n.value));
    const members = G.services.filter(inFocus);
    p.appendChild(el("p", { class: "muted" }, members.length + " services"));
    table(p, "Services", members.map((s) => [s.ref, s.team, String((into[s.ref] || []).length) + " callers"]));
    p.querySelectorAll("tr").forEach((tr, i) => {
      tr.classList.add("link");
      tr.addEventListener("click", () => { const s = members[i]; state.focus = { namespace: s.namespace, team: s.team }; state.selected = s.ref; draw(); showService(s); });
    });
  }
  function showEdge(e) {
    const p = panel();
    p.appendChild(el("h2", {}, e.kind === "egress" ? "egress" : e.count + (e.count === 1 ? " allowed flow" : " allowed flows")));
    if (e.kind === "egress") {
      table(p, "Calls out", e.items.map((x) => [x.source + " → " + x.destination, edgeText({ count: 1, items: [x], kind: "egress" }), x.reason || "—", x.declaredAt]));
    } else {
      table(p, "Flows", e.items.map((x) => [x.source + " → " + x.target, x.interface + " " + x.port + "/" + x.protocol, methods(x.methods), (x.reason || "—") + " · " + x.declaredAt]));
    }
    if (e.count > e.items.length) p.appendChild(el("p", { class: "muted" }, "… and " + (e.count - e.items.length) + " more: drill down to see them"));
  }
  function results(p) {
    if (!state.q) return;
    const found = G.services.filter(matches);
    table(p, "Matching services", found.map((s) => [s.ref, s.team]));
    p.querySelectorAll("tr").forEach((tr, i) => {
      tr.classList.add("link");
      tr.addEventListener("click", () => { const s = found[i]; state.focus = { namespace: s.namespace }; state.selected = s.ref; draw(); showService(s); });
    });
  }

  const asked = new URLSearchParams(window.location.search);  // the registry opens it drilled down
  ["namespace", "team"].forEach((dim) => { if (asked.get(dim)) state.focus[dim] = asked.get(dim); });

  $("q").addEventListener("input", (ev) => { state.q = ev.target.value.trim().toLowerCase(); draw(); panelHelp(); });
  $("by").value = state.groupBy;
  $("by").addEventListener("change", (ev) => { state.groupBy = ev.target.value; state.focus = {}; draw(); });
  $("graph").addEventListener("click", () => { if (state.selected) { state.selected = null; draw(); panelHelp(); } });
  window.addEventListener("resize", () => draw());
  draw();
  panelHelp();
  document.body.setAttribute("data-ready", "true");
})();
