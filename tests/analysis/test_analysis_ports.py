"""Port interval algebra and np-guard's connection notation."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from trustmap.analysis import ALL_CONNS, NO_CONNS, ConnSet
from trustmap.analysis.intervals import complement, difference, intersect, normalize, union


def test_adjacent_and_overlapping_ranges_merge() -> None:
    assert normalize([(5, 9), (1, 3), (4, 4), (20, 30), (25, 40)]) == ((1, 9), (20, 40))


def test_intersection_and_difference_of_interval_sets() -> None:
    a, b = ((1, 10), (20, 30)), ((5, 25),)
    assert intersect(a, b) == ((5, 10), (20, 25))
    assert difference(a, b) == ((1, 4), (26, 30))
    assert union(a, b) == ((1, 30),)
    assert complement(a, 1, 65535) == ((11, 19), (31, 65535))


def test_every_port_of_every_protocol_prints_as_all_connections() -> None:
    assert str(ALL_CONNS) == "All Connections"
    assert str(ConnSet.of("TCP") | ConnSet.of("UDP") | ConnSet.of("SCTP")) == "All Connections"


def test_protocol_groups_print_in_np_guard_order_with_ranges() -> None:
    conns = ConnSet.of("UDP", 53, 53) | ConnSet.of("TCP", 10053, 10054) | ConnSet.of("TCP", 80, 80)
    assert str(conns) == "TCP 80,10053-10054,UDP 53"
    everything_but_one = ALL_CONNS - ConnSet.of("SCTP", 9003, 9003)
    assert str(everything_but_one) == "SCTP 1-9002,9004-65535,TCP 1-65535,UDP 1-65535"
    assert str(ConnSet.of("TCP")) == "TCP 1-65535"


def test_intersection_keeps_only_common_ports_per_protocol() -> None:
    a = ConnSet.of("TCP", 80, 90) | ConnSet.of("UDP", 53, 53)
    b = ConnSet.of("TCP", 85, 100) | ConnSet.of("SCTP")
    assert a & b == ConnSet.of("TCP", 85, 90)
    assert not (ConnSet.of("UDP", 53, 53) & ConnSet.of("TCP", 53, 53))
    assert a.allows("TCP", 85)
    assert not a.allows("TCP", 91)


def _conns(items: list[tuple[str, int, int]]) -> ConnSet:
    total = NO_CONNS
    for protocol, low, width in items:
        total = total | ConnSet.of(protocol, low, min(low + width, 65535))  # type: ignore[arg-type]
    return total


_port_sets = st.lists(
    st.tuples(st.sampled_from(["SCTP", "TCP", "UDP"]), st.integers(1, 65535), st.integers(0, 300)),
    max_size=6,
).map(_conns)


@given(_port_sets)
def test_printed_notation_parses_back_to_the_same_set(conns: ConnSet) -> None:
    assert ConnSet.parse(str(conns)) == conns


@given(_port_sets, _port_sets)
def test_union_and_intersection_behave_like_sets(a: ConnSet, b: ConnSet) -> None:
    assert (a | b) & a == a
    assert (a & b) | a == a
    assert (a - b) & b == NO_CONNS
    assert (a - b) | (a & b) == a
