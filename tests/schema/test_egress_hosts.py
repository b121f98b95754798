"""Egress ``host:`` is a DNS name or a ``*.`` wildcard; anything else is an error at the value.

Facts relied on:
- Cilium ``toFQDNs``: ``matchName`` holds only DNS characters (``^[-a-zA-Z0-9_.]+$``) and
  ``matchPattern`` adds ``*`` (cilium/cilium pkg/policy/api/fqdn.go, allowedMatchNameChars and
  allowedPatternChars): a URL, ``host:port`` or a space never matches a DNS answer.
- Istio ``ServiceEntry.hosts``: "a DNS name with wildcard prefix"; partial wildcards are invalid
  (https://istio.io/latest/docs/reference/config/networking/service-entry/, istio/istio#44195) and
  ``localhost:443`` is rejected as an invalid domain name by Istio's validation.
- A DNS rule matches names, not addresses, so an IP belongs in ``cidr:``.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustmap.schema.v1alpha1 import host_problem


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("https://api.example.com/v1", "host_url"),
        ("api.example.com/v1", "host_url"),
        ("api.example.com:443", "host_port"),
        ("203.0.113.7", "host_ip"),
        ("203.0.113.7:443", "host_ip"),
        ("2001:db8::1", "host_ip"),
        ("[2001:db8::1]:443", "host_ip"),
        ("api example.com", "host_name"),
        ("api.*.example.com", "host_name"),
        ("*example.com", "host_name"),
        ("metadata", "host_name"),
        ("-bad.example.com", "host_name"),
    ],
)
def test_a_host_that_no_dns_rule_can_match_is_refused(value: str, kind: str) -> None:
    problem = host_problem(value)
    assert problem is not None
    assert problem[0] == kind


@pytest.mark.parametrize("value", ["api.stripe.com", "*.googleapis.com", "API.Example.com"])
def test_dns_names_and_leading_wildcards_are_accepted(value: str) -> None:
    assert host_problem(value) is None


def test_the_url_hint_keeps_only_the_host() -> None:
    problem = host_problem("https://api.example.com:8443/v1")
    assert problem is not None
    assert problem[2]["bare"] == "api.example.com"


_LABEL = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)


@given(st.lists(_LABEL, min_size=1, max_size=4), st.sampled_from(["com", "io", "example"]))
def test_every_well_formed_name_is_accepted(labels: list[str], tld: str) -> None:
    assert host_problem(".".join([*labels, tld])) is None


@given(st.lists(_LABEL, min_size=1, max_size=3), st.integers(1, 65535))
def test_a_name_with_a_port_is_always_told_to_move_the_port(labels: list[str], port: int) -> None:
    name = ".".join([*labels, "com"])
    problem = host_problem(f"{name}:{port}")
    assert problem is not None
    assert problem[0] == "host_port"
    assert problem[2] == {"bare": name, "port": str(port)}
