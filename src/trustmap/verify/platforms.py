"""verify for cilium, istio and linkerd: ask the platform's evaluator about every request that matters.

For each workload of a declared service the requests tried are: every declared one (one per
declared method or route), the ones the platform's objects name (their sources, ports and routes),
and requests nobody declared — another method on a declared path, an unknown path, a pod of the
same namespace, of another namespace, without a mesh identity, and a client outside the cluster.
Kubelet probes of the manifests and DNS to the declared resolver are platform traffic that must
pass. Every request where the platform and the declarations disagree becomes a finding, grouped by
pair and port: TM405 wider than declared, TM406 narrower, TM407 "would deny" (audit/dry-run),
TM408/TM415 allowed only because of audit mode, TM409 platform traffic blocked, TM413 plaintext
accepted, TM414 objects the evaluator cannot interpret, TM416 egress the platform does not govern.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from trustmap.analysis.cilium import CiliumEvaluator, cilium_localhost
from trustmap.analysis.inventory import CONTROLLERS, Inventory, Locator, Probe
from trustmap.analysis.istio import IstioEvaluator, istio_rewrites
from trustmap.analysis.linkerd import LinkerdEvaluator
from trustmap.analysis.platform import (
    KUBELET,
    MALFORMED,
    Decision,
    Evaluator,
    Guarded,
    ObjectRef,
    Peer,
    Request,
)
from trustmap.diagnostics import Diagnostic, Span, diagnostic
from trustmap.model import Graph
from trustmap.verify.declared import Declared, Sample, undeclared_samples

__all__ = ["Outcome", "check_traffic", "make_evaluator"]

_STRANGER = (("trustmap.dev/undeclared", "true"),)
_WORLD = Peer("a client outside the cluster", kind="external", meshed=False, address="203.0.113.10")
_MAX_SHOWN = 4
_WORKLOAD_KINDS = frozenset({"Pod", "CronJob", "Service", *CONTROLLERS})
DECLARED_AT = "trustmap.dev/declared-at"


def make_evaluator(target: str, inventory: Inventory, graph: Graph) -> Evaluator:
    """The evaluator of ``target`` over the inventory's objects and workloads."""
    org = graph.organization
    domain = org.trust_domain if org else "cluster.local"
    objects, peers = inventory.objects, inventory.peers
    if target == "cilium":
        return CiliumEvaluator(objects, peers, allow_localhost=cilium_localhost(graph))
    if target == "istio":
        return IstioEvaluator(
            objects, peers, trust_domain=domain, rewrite_app_probers=istio_rewrites(graph)
        )
    return LinkerdEvaluator(objects, peers, trust_domain=domain, named_ports=inventory.named_ports)


@dataclass(slots=True)
class _Group:
    code: str
    source: str
    target: str
    port: int
    protocol: str
    span: Span
    routes: list[str] = field(default_factory=list)
    refs: set[ObjectRef] = field(default_factory=set)
    why: str = ""


@dataclass(slots=True)
class Outcome:
    """Findings and counts of one platform comparison."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    matched: set[tuple[str, str, int]] = field(default_factory=set)
    wider: set[tuple[str, str, int]] = field(default_factory=set)
    narrower: set[tuple[str, str, int]] = field(default_factory=set)


@dataclass(slots=True)
class _Check:
    target_name: str
    graph: Graph
    inventory: Inventory
    declared: Declared
    evaluator: Evaluator
    locator: Locator
    environment: str | None
    groups: dict[tuple[str, str, str, int], _Group] = field(default_factory=dict)
    outcome: Outcome = field(default_factory=Outcome)
    compiled_from: dict[ObjectRef, str] = field(default_factory=dict)
    """Compiled object → its ``trustmap.dev/declared-at`` annotation (filled when first needed)."""
    guard: Guarded = field(init=False)
    probes: set[tuple[str, int, str | None, str | None]] = field(init=False)
    """(target, port, method, path) of every kubelet probe of the manifests."""
    managed: frozenset[str] = field(init=False)
    """Namespaces of the declared services (under trustmap's default deny when enforced)."""

    def __post_init__(self) -> None:
        self.guard = Guarded(self.evaluator)
        self.managed = frozenset(ref.namespace for ref in self.graph.services)
        self.probes = {
            (p.peer.id, p.port, _probe_method(p.action), _path_only(p.path))
            for p in self.inventory.probes
        }

    # --- the requests ------------------------------------------------------------------------

    def run(self) -> Outcome:
        for peer in self.inventory.peers:
            if peer.id in self.declared.owner:
                self._target(peer)
            elif self.declared.to(peer.id):
                self._declared_only(peer)
        for probe in self.inventory.probes:
            if probe.peer.id in self.declared.owner:
                self._probe(probe)
        self._egress()
        self._unsupported()
        self._flush()
        return self.outcome

    def _target(self, target: Peer) -> None:
        wants = self.declared.to(target.id)
        sources = self._sources(target)
        ports = {w.port: w.protocol for w in wants}
        for port in [
            *self.guard.listed(f"ports of {target.id}", lambda: self.evaluator.named_ports(target)),
            *self.inventory.container_ports.get(target.id, ()),
        ]:
            ports.setdefault(port, "TCP")
        for port, protocol in sorted(ports.items()):
            samples = self._samples(target, port)
            for source in sources:
                for method, path in samples:
                    self._try(Request(source, target, port, protocol, method, path))

    def _declared_only(self, target: Peer) -> None:
        for want in self.declared.to(target.id):
            source = self.declared.peers.get(want.source)
            if source is None:
                continue
            for method, path in want.samples():
                self._try(Request(source, target, want.port, want.protocol, method, path))

    def _sources(self, target: Peer) -> list[Peer]:
        found: dict[str, Peer] = {}
        for want in self.declared.to(target.id):
            peer = self.declared.peers.get(want.source)
            if peer is not None:
                found[peer.id] = peer
        named = self.guard.listed(
            f"sources of {target.id}", lambda: self.evaluator.named_sources(target)
        )
        for peer in named:
            found.setdefault(peer.id, peer)
        ns = target.namespace
        strangers = [
            Peer(f"any pod of namespace {ns}", ns, _STRANGER, "trustmap-undeclared"),
            Peer(
                "a pod of another namespace",
                "trustmap-undeclared",
                _STRANGER,
                "trustmap-undeclared",
            ),
            _WORLD,
        ]
        if self.target_name != "cilium":  # no mesh identity: only meshes tell the difference
            strangers.append(
                Peer(
                    f"a pod of namespace {ns} without a mesh identity",
                    ns,
                    _STRANGER,
                    "default",
                    meshed=False,
                )
            )
        return [*found.values(), *strangers]

    def _samples(self, target: Peer, port: int) -> list[Sample]:
        wants = [w for w in self.declared.to(target.id) if w.port == port]
        named = self.guard.listed(
            f"routes of {target.id}:{port}", lambda: self.evaluator.named_routes(target, port)
        )
        if not any(w.l7 for w in wants) and not named:
            return [(None, None)]
        samples: list[Sample] = []
        for want in wants:
            samples += want.samples()
        samples += [s for s in named if s != (None, None)]
        samples += undeclared_samples(wants)
        return list(dict.fromkeys(samples))

    def _try(self, request: Request) -> None:
        decision = self.guard.decide(request)
        if decision is None:
            return
        declared = self._declared(request)
        key = (request.source.id, request.target.id, request.port)
        if declared and decision.allowed and not decision.audit:
            self.outcome.matched.add(key)
        elif declared and decision.allowed:
            self._add("TM407", request, decision)
        elif declared:
            self.outcome.narrower.add(key)
            self._add("TM406", request, decision)
        elif decision.allowed and decision.audit:
            self._add(self._audit_code(request.target), request, decision)
        elif decision.allowed and self._probe_request(request):
            return  # platform traffic: a mesh cannot tell the kubelet from other plaintext callers
        elif decision.allowed:
            self.outcome.wider.add(key)
            plaintext = not request.source.meshed and request.source.kind == "pod"
            self._add(
                "TM413" if plaintext and self.target_name != "cilium" else "TM405",
                request,
                decision,
            )

    def _declared(self, request: Request) -> bool:
        """Whether the declarations allow ``request``: a flow declared for its source, or one
        open to anyone (``exposure: world``) unless the source's own egress is closed."""
        source, target = request.source, request.target.id
        port, method, path = request.port, request.method, request.path
        if not self.declared.allows(source, target, port, method, path):
            return False
        if not self._egress_closed(source):
            return True
        named = self.declared.pairs.get((source.id, target), ())
        return any(want.port == port and want.allows(method, path) for want in named)

    def _egress_closed(self, source: Peer) -> bool:
        """Whether ``source`` is an undeclared pod of a namespace under trustmap's default deny,
        on a target that polices egress inside the cluster (Cilium): the declarations give it no
        egress, so what is open to anyone (``exposure: world``) is not promised to it."""
        if self.target_name != "cilium" or source.kind != "pod" or source.id in self.declared.owner:
            return False
        org = self.graph.organization
        mode = org.mode(self.environment, source.namespace) if org else "enforce"
        return source.namespace in self.managed and mode == "enforce"

    def _probe_request(self, request: Request) -> bool:
        """Whether ``request`` is one of the target's HTTP or gRPC kubelet probes (its port,
        method and path).

        Probe requests reach a meshed pod without a mesh identity, so a mesh that lets probes
        through (Linkerd authorises probe routes for unauthenticated clients, as its own default
        probe authorisation does) lets any plaintext client send exactly those requests; that is
        what keeping probes working costs, not a widening of the declarations.
        """
        if request.method is None or request.path is None:
            return False  # a TCP probe names a whole port: no request beyond it is exempt
        key = (request.target.id, request.port, request.method, _path_only(request.path))
        return key in self.probes

    def _audit_code(self, target: Peer) -> str:
        org = self.graph.organization
        mode = org.mode(self.environment, target.namespace) if org else "enforce"
        return "TM415" if mode == "audit" else "TM408"

    def _probe(self, probe: Probe) -> None:
        peer, port, action, path, ref = probe.peer, probe.port, probe.action, probe.path, probe.ref
        method = _probe_method(action)
        https = probe.scheme == "HTTPS"
        decision = self.guard.decide(Request(KUBELET, peer, port, "TCP", method, path, https))
        if decision is None:
            return
        if decision.allowed and not decision.audit:
            return
        what = f"{action}{' HTTPS' if https else ''} {path}" if path else action
        blocked = "would be denied (audit)" if decision.allowed else "is denied"
        self.outcome.diagnostics.append(
            diagnostic(
                "TM409",
                self._span(ref),
                f"kubelet probe of {peer.id} on {port}/TCP ({what}) {blocked} by {self.target_name}"
                f"{self._by(decision.by)}{_why(decision)}",
                self._probe_hint(),
            )
        )

    def _probe_hint(self) -> str:
        evaluator = self.evaluator
        if isinstance(evaluator, CiliumEvaluator) and evaluator.allow_localhost == "policy":
            return _HOST_IS_PEER
        return _HINTS["TM409"]

    # --- egress ----------------------------------------------------------------------------

    def _egress(self) -> None:
        if isinstance(self.evaluator, LinkerdEvaluator):
            self._ungoverned_egress()
            return
        for source_id in sorted(self.declared.owner):
            source = self.declared.peers[source_id]
            for target, port in self._egress_candidates(source):
                self._try_external(source, target, port)

    def _egress_candidates(self, source: Peer) -> Iterable[tuple[Peer, int]]:
        for item in self.declared.external.get(source.id, ()):
            egress = item.egress
            ports = [p.port for p in egress.ports] or [443]
            for port in ports:
                if egress.host:
                    host = egress.host.replace("*", "sample")
                    yield Peer(host, kind="external", meshed=False, hosts=(host,)), port
                elif egress.cidr:
                    address = egress.cidr.split("/", 1)[0]
                    yield Peer(address, kind="external", meshed=False, address=address), port
        if isinstance(self.evaluator, CiliumEvaluator):
            evaluator = self.evaluator
            named = self.guard.listed(
                f"egress of {source.id}", lambda: evaluator.external_named(source)
            )
            for named_host, named_address, named_port in named:
                name = named_host or named_address or "?"
                hosts = (named_host,) if named_host else ()
                peer = Peer(name, kind="external", meshed=False, hosts=hosts, address=named_address)
                yield peer, named_port
        yield (
            Peer(
                "undeclared.example.com",
                kind="external",
                meshed=False,
                hosts=("undeclared.example.com",),
            ),
            443,
        )
        yield Peer("192.0.2.10", kind="external", meshed=False, address="192.0.2.10"), 443
        ns = source.namespace
        for peer in (
            Peer(
                f"an undeclared pod of namespace {ns}",
                ns,
                _STRANGER,
                "trustmap-undeclared",
                hosts=(f"undeclared.{ns}.svc.cluster.local",),
            ),
            Peer(
                "an undeclared pod of another namespace",
                "trustmap-undeclared",
                _STRANGER,
                "x",
                hosts=("undeclared.trustmap-undeclared.svc.cluster.local",),
            ),
        ):
            yield peer, 8080

    def _try_external(self, source: Peer, target: Peer, port: int) -> None:
        request = Request(source, target, port)
        decision = self.guard.decide(request)
        if decision is None:
            return
        host = target.hosts[0] if target.hosts else None
        declared = target.kind == "external" and self.declared.allows_external(
            source.id, host, target.address, port
        )
        if declared and not decision.allowed:
            self._add("TM406", request, decision)
        elif not declared and decision.allowed and not decision.audit:
            self._add("TM405", request, decision)
        elif not declared and decision.allowed:
            self._add(self._audit_code(source), request, decision)

    def _ungoverned_egress(self) -> None:
        callers = sorted(str(e.source) for e in self.graph.external)
        if not callers:
            return
        org = self.graph.organization
        span = org.span if org else Span("")
        self.outcome.diagnostics.append(
            diagnostic(
                "TM416",
                span,
                f"{self.target_name} does not restrict calls out of the cluster: the declared egress of "
                f"{len(set(callers))} services ({', '.join(sorted(set(callers))[:_MAX_SHOWN])}"
                f"{', ...' if len(set(callers)) > _MAX_SHOWN else ''}) is not enforced, nor is any undeclared egress",
                _HINTS["TM416"],
            )
        )

    # --- findings ----------------------------------------------------------------------------

    def _unsupported(self) -> None:
        for ref, message in self.evaluator.unsupported():
            self.outcome.diagnostics.append(
                diagnostic("TM414", self._span(ref), f"{ref}: {message}", _HINTS["TM414"])
            )
        for error, (what, request) in sorted(self.guard.failures.items(), key=lambda i: i[0]):
            culprit = self._culprit(request) if request is not None else None
            where = self._span(culprit) if culprit is not None else Span("")
            name = str(culprit) if culprit is not None else f"one of the {self.target_name} objects"
            self.outcome.diagnostics.append(
                diagnostic(
                    "TM414",
                    where,
                    f"{name} has a field of an unexpected shape ({error}); "
                    f"requests such as {what} could not be judged",
                    "fix the field (`kubectl apply --dry-run=server` shows the API's own check)",
                )
            )

    def _culprit(self, request: Request) -> ObjectRef | None:
        """The object that alone makes ``request`` fail (evaluated one object at a time)."""
        peers = (request.source, request.target)
        for obj in self.inventory.objects:
            if obj.kind in _WORKLOAD_KINDS:
                continue
            alone = replace(self.inventory, objects=(obj,), peers=peers)
            try:
                make_evaluator(self.target_name, alone, self.graph).decide(request)
            except MALFORMED:
                return obj.ref
        return None

    def _add(self, code: str, request: Request, decision: Decision) -> None:
        source = request.source.id
        key = (code, source, request.target.id, request.port)
        group = self.groups.get(key)
        if group is None:
            span = self._where(code, request, decision)
            group = _Group(
                code,
                source,
                request.target.id,
                request.port,
                request.protocol,
                span,
                why=decision.why,
            )
            self.groups[key] = group
        if request.method or request.path:
            group.routes.append(f"{request.method or 'any method'} {request.path or '/'}")
        group.refs.update(decision.by)

    def _where(self, code: str, request: Request, decision: Decision) -> Span:
        if code in ("TM406", "TM407"):
            for want in self.declared.between(request.source.id, request.target.id):
                if want.port == request.port:
                    return want.span
        for ref in decision.by:
            if not ref.file.startswith("<"):
                return self._span(ref)
        owner = self.declared.owner.get(request.target.id) or self.declared.owner.get(
            request.source.id
        )
        service = self.graph.services.get(owner) if owner else None
        return service.span if service else Span("")

    def _span(self, ref: ObjectRef) -> Span:
        if ref.file.startswith("<"):
            return Span(ref.file)
        return self.locator.span(ref.file, ref.doc, ref.path)

    def _by(self, refs: Iterable[ObjectRef]) -> str:
        shown = sorted(set(refs))
        if not shown:
            return ""
        texts = [self._where_text(r) for r in shown[:_MAX_SHOWN]]
        more = f" and {len(shown) - _MAX_SHOWN} more" if len(shown) > _MAX_SHOWN else ""
        return f" ({', '.join(texts)}{more})"

    def _where_text(self, ref: ObjectRef) -> str:
        """``Kind ns/name at file:line``; compiled objects name the declarations they come from."""
        if not ref.file.startswith("<"):
            return f"{ref} at {self._span(ref)}"
        if not self.compiled_from:
            self.compiled_from.update(
                (o.ref, o.annotations.get(DECLARED_AT, "")) for o in self.inventory.objects
            )
        origin = self.compiled_from.get(ref, "")
        first = origin.split(",")[0].strip()
        return f"compiled {ref}" + (f" (from {first})" if first else "")

    def _flush(self) -> None:
        for group in self.groups.values():
            self.outcome.diagnostics.append(self._message(group))

    def _message(self, group: _Group) -> Diagnostic:
        routes = list(dict.fromkeys(group.routes))
        shown = ", ".join(routes[:_MAX_SHOWN]) + (
            f" and {len(routes) - _MAX_SHOWN} more" if len(routes) > _MAX_SHOWN else ""
        )
        on = f"{group.port}/{group.protocol}" + (f" ({shown})" if routes else "")
        pair = f"{group.source} → {group.target} on {on}"
        by = self._by(group.refs)
        why = f"; {group.why}" if group.why else ""
        text = {
            "TM405": f"{self.target_name} allows {pair}: wider than declared{why}{by}",
            "TM406": f"declared call {pair} is denied by {self.target_name}: narrower than declared{why}{by}",
            "TM407": f"declared call {pair} would be denied by {self.target_name} once enforced (audit/dry-run){why}{by}",
            "TM408": f"{self.target_name} allows undeclared {pair} only because of audit mode, where the declarations say enforce{why}{by}",
            "TM413": f"{self.target_name} accepts {pair} from a client without a mesh identity: wider than declared{why}{by}",
            "TM415": f"{self.target_name} would deny undeclared {pair} (audit mode: logged, not blocked){by}",
        }[group.code]
        return diagnostic(group.code, group.span, text, _HINTS[group.code])


def _why(decision: Decision) -> str:
    return f"; {decision.why}" if decision.why else ""


_HINTS = {
    "TM405": "narrow the rule to the declared callers, ports and routes, or declare the call",
    "TM406": "allow the declared call (trustmap compile generates the rule), or remove the declaration",
    "TM407": "this is expected in an audit rollout; switch the environment to enforce only once it allows every declared call",
    "TM408": "compile for the environment that enforces this namespace, or declare the call",
    "TM409": "allow the kubelet's probes (probe routes and an unauthenticated authorisation on meshes)",
    "TM413": "require mTLS (Istio PeerAuthentication STRICT; Linkerd: authorise identities, not all-unauthenticated)",
    "TM414": "verify cannot judge this part; check it by hand or express it with the supported fields",
    "TM415": "expected while this namespace is in audit mode",
    "TM416": "add an egress control (NetworkPolicy/Cilium) if calls out of the cluster must be limited",
}

_HOST_IS_PEER = (
    "the Organization says Cilium runs allow-localhost=policy, where only rules that select the "
    "host admit the kubelet: allow fromEntities [host] on each probed port, under HTTP rules for "
    "the probe requests on proxied ports (trustmap compile --manifests writes them)"
)


def check_traffic(
    target: str,
    graph: Graph,
    inventory: Inventory,
    declared: Declared,
    locator: Locator,
    environment: str | None,
    evaluator: Evaluator | None = None,
) -> Outcome:
    """Compare what ``target`` allows on the inventory's workloads with ``declared``."""
    chosen = evaluator or make_evaluator(target, inventory, graph)
    return _Check(target, graph, inventory, declared, chosen, locator, environment).run()


def _path_only(path: str | None) -> str | None:
    """``path`` without its query string: probe routes and path rules match the path alone
    (Istio: https://istio.io/latest/docs/reference/config/security/normalization/), so a probe of
    ``/ready?full=1`` and a request for ``/ready`` are the same route."""
    return path.split("?", 1)[0] if path is not None else None


def _probe_method(action: str) -> str | None:
    """The HTTP method of a probe: GET for httpGet, POST for gRPC, none for a TCP probe."""
    return "GET" if action == "httpGet" else "POST" if action == "grpc" else None
