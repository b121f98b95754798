"""Objects, Lists, workloads with containers, ports and probes, Services, Namespaces, backends."""

from __future__ import annotations

from pathlib import Path

from kube_helpers import load_text, located

from trustmap.kube import KubeObject, KubeProbe, backend_ports, flatten, read_documents

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {team: a}
spec:
  template:
    metadata:
      labels: {app: web}
      annotations: {linkerd.io/inject: enabled}
    spec:
      serviceAccountName: web-sa
      initContainers:
        - name: migrate
          image: migrate:1
        - name: proxy
          image: proxy:1
          restartPolicy: Always
          ports: [{name: admin, containerPort: 9901}]
      containers:
        - name: app
          image: web:1
          ports:
            - {name: http, containerPort: 8080}
            - {containerPort: 9090, protocol: UDP}
          livenessProbe:
            httpGet: {port: http}
          readinessProbe:
            grpc: {port: 9090, service: ready}
          startupProbe:
            exec: {command: [true]}
"""


def test_a_deployment_is_read_with_its_pod_template(tmp_path: Path) -> None:
    kset, problems = load_text(tmp_path, DEPLOYMENT)
    assert problems == []
    (w,) = kset.workloads
    assert (w.kind, w.namespace, w.name) == ("Deployment", "shop", "web")
    assert w.pod_labels == (("app", "web"),)
    assert w.pod_annotations == (("linkerd.io/inject", "enabled"),)
    assert (w.service_account, w.service_account_written) == ("web-sa", True)
    assert [c.name for c in w.containers] == ["app", "proxy"]
    assert [c.name for c in w.init_containers] == ["migrate", "proxy"]
    assert [c.name for c in w.app_containers] == ["app"]
    assert (w.span.line, w.span.col) == (4, 9)
    assert w.obj.labels == (("team", "a"),)


def test_container_ports_keep_name_protocol_and_position(tmp_path: Path) -> None:
    kset, _ = load_text(tmp_path, DEPLOYMENT)
    app = kset.workloads[0].containers[0]
    assert [(p.name, p.port, p.protocol, p.span.line) for p in app.ports] == [
        ("http", 8080, "TCP", 25),
        (None, 9090, "UDP", 26),
    ]
    assert app.image == "web:1"
    assert kset.workloads[0].obj.span_at((*app.path, "image")).line == 23


def test_probes_resolve_named_ports_against_their_container(tmp_path: Path) -> None:
    """The kubelet resolves a probe's named port among the same container's ``ports`` and falls
    back to reading digits as a number (kubernetes/kubernetes pkg/kubelet/prober/prober.go,
    ``extractPort`` and ``findPortByName``)."""
    kset, _ = load_text(tmp_path, DEPLOYMENT)
    probes = kset.workloads[0].containers[0].probes
    assert probes == (
        KubeProbe("liveness", "httpGet", 8080, "http", "/", "HTTP", None, None, probes[0].place),
        KubeProbe("readiness", "grpc", 9090, None, None, None, None, "ready", probes[1].place),
        KubeProbe("startup", "exec", None, None, None, None, None, None, probes[2].place),
    )
    assert [p.span.line for p in probes] == [28, 30, 32]


def test_an_unknown_probe_port_name_is_tm621_and_a_probe_without_handler_tm620(
    tmp_path: Path,
) -> None:
    kset, problems = load_text(
        tmp_path,
        """
        kind: Pod
        apiVersion: v1
        metadata: {name: p}
        spec:
          containers:
            - name: c
              ports: [{name: web, containerPort: 80}]
              livenessProbe:
                tcpSocket: {port: admin}
              readinessProbe:
                httpGet: {port: "8081"}
              startupProbe:
                periodSeconds: 3
        """,
    )
    assert located(problems) == [("TM621", 9, 27), ("TM620", 13, 9)]
    (probe,) = [p for p in kset.workloads[0].containers[0].probes if p.kind == "liveness"]
    assert (probe.port, probe.port_name) == (None, "admin")
    (ready,) = [p for p in kset.workloads[0].containers[0].probes if p.kind == "readiness"]
    assert ready.port == 8081


def test_service_account_defaults_as_the_api_server_sets_it(tmp_path: Path) -> None:
    kset, _ = load_text(tmp_path, "kind: Pod\napiVersion: v1\nmetadata: {name: p}\nspec: {}\n")
    (w,) = kset.workloads
    assert (w.service_account, w.service_account_written, w.namespace) == (
        "default",
        False,
        "default",
    )
    assert w.obj.namespace is None


def test_every_controller_kind_has_its_pod_template(tmp_path: Path) -> None:
    template = "template: {metadata: {labels: {app: x}}, spec: {containers: [{name: c}]}}"
    docs = [
        f"apiVersion: apps/v1\nkind: {kind}\nmetadata: {{name: {kind.lower()}}}\nspec: {{{template}}}"
        for kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")
    ]
    docs.append(f"apiVersion: batch/v1\nkind: Job\nmetadata: {{name: job}}\nspec: {{{template}}}")
    docs.append(
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: cron}\n"
        f"spec: {{jobTemplate: {{spec: {{{template}}}}}}}"
    )
    docs.append(
        f"apiVersion: v1\nkind: ReplicationController\nmetadata: {{name: rc}}\nspec: {{{template}}}"
    )
    docs.append(
        f"apiVersion: apps.openshift.io/v1\nkind: DeploymentConfig\nmetadata: {{name: dc}}\nspec: {{{template}}}"
    )
    kset, problems = load_text(tmp_path, "\n---\n".join(docs))
    assert problems == []
    assert len(kset.workloads) == 8
    assert {w.pod_labels for w in kset.workloads} == {(("app", "x"),)}
    assert {len(w.containers) for w in kset.workloads} == {1}


def test_a_bare_pod_names_its_controlling_owner(tmp_path: Path) -> None:
    kset, _ = load_text(
        tmp_path,
        """
        apiVersion: v1
        kind: Pod
        metadata:
          name: web-7d9-abc
          ownerReferences:
            - {kind: Node, name: n1, controller: true}
            - {kind: ReplicaSet, name: web-7d9, controller: true}
        """,
    )
    assert kset.workloads[0].owner == ("ReplicaSet", "web-7d9")


def test_lists_are_flattened_and_items_take_the_list_kind(tmp_path: Path) -> None:
    kset, _ = load_text(
        tmp_path,
        """
        apiVersion: v1
        kind: PodList
        items:
          - metadata: {name: a}
          - kind: List
            items:
              - {apiVersion: v1, kind: Service, metadata: {name: s}}
          - just a string
        """,
    )
    assert [(o.kind, o.name, o.path) for o in kset.objects] == [
        ("Pod", "a", ("items", 0)),
        ("Service", "s", ("items", 1, "items", 0)),
    ]
    assert [(x.value, x.span.line) for x in kset.leftovers] == [("just a string", 8)]
    assert kset.of_kind("Service") == (kset.objects[1],)
    assert kset.objects[1].span_at(("metadata", "name")).line == 7


def test_other_kinds_are_objects_with_positions(tmp_path: Path) -> None:
    kset, problems = load_text(
        tmp_path,
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata:
          name: allow
          namespace: shop
          annotations: {note: yes-really}
        spec:
          endpointSelector: {matchLabels: {app: web}}
        """,
    )
    assert problems == []
    (policy,) = kset.of_kind("CiliumNetworkPolicy", "AuthorizationPolicy")
    assert (policy.api_version, policy.namespace, policy.annotations) == (
        "cilium.io/v2",
        "shop",
        (("note", "yes-really"),),
    )
    assert policy.span_at(("spec", "endpointSelector", "matchLabels", "app")).line == 8
    assert policy.span_at(("spec", "missing", 3)).line == 8  # the closest written ancestor
    assert policy.ref == "CiliumNetworkPolicy shop/allow"


def test_services_and_namespaces_are_typed(tmp_path: Path) -> None:
    kset, problems = load_text(
        tmp_path,
        """
        apiVersion: v1
        kind: Namespace
        metadata: {name: shop, labels: {env: prod}}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: shop}
        spec:
          selector: {app: web}
          clusterIP: 10.0.0.7
          ports:
            - {name: http, port: 80, targetPort: http, appProtocol: http}
            - {port: 9090, protocol: UDP}
        """,
    )
    assert problems == []
    (ns,) = kset.namespaces
    assert (ns.name, ns.labels) == ("shop", (("env", "prod"),))
    (svc,) = kset.services
    assert (svc.namespace, svc.selector, svc.type, svc.cluster_ips) == (
        "shop",
        (("app", "web"),),
        "ClusterIP",
        ("10.0.0.7",),
    )
    assert [(p.name, p.port, p.target_port, p.protocol, p.app_protocol) for p in svc.ports] == [
        ("http", 80, "http", "TCP", "http"),
        (None, 9090, 9090, "UDP", None),
    ]


def test_a_lookalike_kind_of_another_api_group_is_not_typed(tmp_path: Path) -> None:
    kset, problems = load_text(
        tmp_path,
        """
        apiVersion: serving.knative.dev/v1
        kind: Service
        metadata: {name: hello}
        spec: {template: {spec: {containers: [{image: x}]}}}
        """,
    )
    assert (problems, kset.services, len(kset.of_kind("Service"))) == ([], (), 1)


def test_typed_objects_without_a_name_are_tm600_and_wrong_fields_tm6xx(tmp_path: Path) -> None:
    kset, problems = load_text(
        tmp_path,
        """
        apiVersion: v1
        kind: Service
        metadata: {namespace: shop}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: p, labels: {version: 1}}
        spec:
          containers:
            - name: c
              ports:
                - {containerPort: 70000}
                - {containerPort: 80, protocol: tcp, hostport: 1}
        """,
    )
    assert located(problems) == [
        ("TM600", 3, 11),
        ("TM610", 7, 39),
        ("TM607", 12, 27),
        ("TM608", 13, 41),
        ("TM613", 13, 56),
    ]
    assert "did you mean 'TCP'" in problems[3].message
    assert kset.services == ()
    assert [p.port for p in kset.workloads[0].containers[0].ports] == [80]


def test_ingress_backends_match_service_ports_by_number_name_or_target_port(
    tmp_path: Path,
) -> None:
    """ingress-nginx compares an Ingress backend's port with each Service port's number, its
    ``targetPort`` and its name, as text, and takes the first port that matches
    (kubernetes/ingress-nginx internal/ingress/controller/controller.go, ``serviceEndpoints``:
    ``strconv.Itoa(int(servicePort.Port)) == backendPort || servicePort.TargetPort.String() ==
    backendPort || servicePort.Name == backendPort`` then ``break``)."""
    kset, problems = load_text(
        tmp_path,
        """
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec:
          selector: {app: web}
          ports:
            - {name: http, port: 80, targetPort: 8080}
            - {name: admin, port: 81, targetPort: metrics}
            - {name: alt, port: 8080, targetPort: 9000}
        ---
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: in}
        spec:
          defaultBackend: {service: {name: web, port: {number: 80}}}
          rules:
            - http:
                paths:
                  - backend: {service: {name: web, port: {number: 8080}}}
                  - backend: {service: {name: web, port: {name: metrics}}}
                  - backend: {service: {name: web, port: {name: admin}}}
                  - backend: {service: {name: web}}
        """,
    )
    assert problems == []
    (svc,) = kset.services
    chosen = [[p.name for p in backend_ports(b, svc)] for b in kset.backends]
    assert chosen == [["http"], ["http"], ["admin"], ["admin"], ["http", "admin", "alt"]]
    assert [b.source for b in kset.backends] == ["Ingress default/in"] * 5
    assert [b.span.line for b in kset.backends] == [15, 19, 20, 21, 22]


def test_route_and_gateway_backends_are_read(tmp_path: Path) -> None:
    kset, _ = load_text(
        tmp_path,
        """
        apiVersion: route.openshift.io/v1
        kind: Route
        metadata: {name: r, namespace: shop}
        spec:
          to: {kind: Service, name: web}
          alternateBackends: [{kind: Service, name: web2}]
          port: {targetPort: http}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: h, namespace: shop}
        spec:
          rules:
            - backendRefs:
                - {name: web, port: 80}
                - {name: other, namespace: edge}
        """,
    )
    assert [(b.source, b.namespace, b.service, b.port) for b in kset.backends] == [
        ("Route shop/r", "shop", "web", ("target", "http")),
        ("Route shop/r", "shop", "web2", ("target", "http")),
        ("HTTPRoute shop/h", "shop", "web", ("port", 80)),
        ("HTTPRoute shop/h", "edge", "other", ("any", None)),
    ]


def test_only_kubernetes_network_policies_are_listed_as_such(tmp_path: Path) -> None:
    kset, problems = load_text(
        tmp_path,
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: deny, namespace: shop}
        spec: {podSelector: {}}
        ---
        apiVersion: projectcalico.org/v3
        kind: NetworkPolicy
        metadata: {name: calico}
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {namespace: shop}
        """,
    )
    assert [p.name for p in kset.network_policies] == ["deny"]
    assert len(kset.of_kind("NetworkPolicy")) == 3
    assert located(problems) == [("TM600", 12, 11)]


def test_a_json_snapshot_is_located_only_when_asked(tmp_path: Path) -> None:
    """JSON values are parsed by :mod:`json`; their positions are composed on first use."""
    path = tmp_path / "pods.json"
    path.write_text('[{"kind": "Pod", "apiVersion": "v1",\n  "metadata": {"name": "a"}}]\n')
    files, documents, problems = read_documents([path])
    assert (files, problems) == ([str(path)], [])
    (document,) = documents
    assert not isinstance(document.positions, dict)
    (obj,) = [o for o in flatten(document) if isinstance(o, KubeObject)]
    assert (obj.span.line, obj.span.col) == (2, 24)
