"""`trustmap diff` as a library: what a change opens, closes, moves, and who must approve it."""

from __future__ import annotations

from pathlib import Path

from review_helpers import ad_asks_cart, cart_consents, compare, consent_not_required, copy, edit

from trustmap.review import calls_of


def test_two_equal_trees_change_nothing(tmp_path: Path) -> None:
    change = compare(copy(tmp_path, "a"), copy(tmp_path, "b"), ["kubernetes"])
    assert change.empty
    assert change.blocking() == []


def test_a_new_dependency_with_consent_in_the_same_change_asks_the_provider_owners(
    tmp_path: Path,
) -> None:
    base, head = copy(tmp_path, "base"), copy(tmp_path, "head")
    ad_asks_cart(head, consent=True)
    change = compare(base, head)
    (opened,) = change.calls
    assert opened.movement == "opened"
    assert opened.call.key == ("default/adservice", "default/cartservice", "grpc")
    assert opened.provider_team == "cart-team"
    assert opened.approvers == (
        "cart-lead@example.com",
        "group:cart-oncall",
        "@online-boutique/cart-team",
    )
    assert opened.consent == "in-change"
    assert change.blocking() == []


def test_consent_given_before_the_change_is_recognised(tmp_path: Path) -> None:
    base, head = copy(tmp_path, "base"), copy(tmp_path, "head")
    cart_consents(base)
    ad_asks_cart(head, consent=True)
    (opened,) = compare(base, head).calls
    assert opened.consent == "before"


def test_a_dependency_without_consent_opens_nothing_and_introduces_its_error(
    tmp_path: Path,
) -> None:
    base, head = copy(tmp_path, "base"), copy(tmp_path, "head")
    ad_asks_cart(head, consent=False)
    change = compare(base, head)
    assert change.calls == ()
    assert [d.code for d in change.introduced] == ["TM210"]
    assert "introduces TM210" in change.blocking()[0]
    (waiting,) = change.waiting
    assert (waiting.source, waiting.target, waiting.interface) == (
        "default/adservice",
        "default/cartservice",
        "grpc",
    )
    assert waiting.provider_team == "cart-team"
    assert "@online-boutique/cart-team" in waiting.approvers
    assert compare(head, head).waiting == ()  # already waiting before: not new


def test_a_call_opened_where_consent_is_not_required_blocks_the_change(tmp_path: Path) -> None:
    base, head = copy(tmp_path, "base"), copy(tmp_path, "head")
    consent_not_required(base, head)
    ad_asks_cart(head, consent=False)
    change = compare(base, head)
    (opened,) = change.calls
    assert opened.consent == "missing"
    assert change.blocking() == [
        "opened default/adservice -> default/cartservice:grpc without the consent of cart-team"
    ]


def test_removing_a_dependency_closes_its_call_and_fixes_nothing(tmp_path: Path) -> None:
    base, head = copy(tmp_path, "base"), copy(tmp_path, "head")
    ad_asks_cart(base, consent=True)
    change = compare(base, head)
    assert [(c.movement, c.call.source) for c in change.calls] == [("closed", "default/adservice")]
    assert change.introduced == change.fixed == ()


def test_more_methods_and_a_later_expiry_widen_a_call_fewer_narrow_it(tmp_path: Path) -> None:
    base, head = copy(tmp_path, "base"), copy(tmp_path, "head")
    ad_asks_cart(base, consent=True)
    ad_asks_cart(head, consent=True)
    edit(
        head,
        "services/storefront.yaml",
        "methods: [hipstershop.CartService/GetCart]",
        "methods: [hipstershop.CartService/GetCart, hipstershop.CartService/EmptyCart]",
    )
    (widened,) = compare(base, head).calls
    assert widened.movement == "widened"
    assert widened.details == ("method +hipstershop.CartService/EmptyCart",)
    assert widened.consent == "before"
    (narrowed,) = compare(head, base).calls
    assert narrowed.movement == "narrowed"
    assert narrowed.details == ("method -hipstershop.CartService/EmptyCart",)


def test_an_expiry_moved_later_widens_and_moved_earlier_narrows(tmp_path: Path) -> None:
    base, head = copy(tmp_path, "base"), copy(tmp_path, "head")
    for root, day in ((base, "2027-01-31"), (head, "2027-06-30")):
        ad_asks_cart(root, consent=True)
        edit(
            root,
            "services/storefront.yaml",
            "reason: show ads",
            f"expires: {day}\n      reason: show ads",
        )
    (later,) = compare(base, head).calls
    assert (later.movement, later.details) == ("widened", ("expires 2027-01-31 -> 2027-06-30",))
    (earlier,) = compare(head, base).calls
    assert earlier.movement == "narrowed"


def test_exposure_egress_and_team_moves_are_reported(tmp_path: Path) -> None:
    base, head = copy(tmp_path, "base"), copy(tmp_path, "head")
    storefront = (head / "services" / "storefront.yaml").read_text()
    assert (
        "exposure: internal\n      consumers: [default/frontend]\n      methods: [hipstershop.AdService"
        in storefront
    )
    edit(
        head,
        "services/storefront.yaml",
        "exposure: internal\n      consumers: [default/frontend]\n      methods: [hipstershop.AdService",
        "exposure: ingress\n      consumers: [default/frontend]\n      methods: [hipstershop.AdService",
    )
    edit(
        head,
        "services/cart-team.yaml",
        "  team: cart-team\n  # The release",
        "  team: catalog\n  # The release",
    )
    edit(head, "services/cart-team.yaml", AD_EGRESS_ANCHOR, AD_EGRESS_ANCHOR + EGRESS)
    change = compare(base, head)
    assert [(e.service, e.interface, e.before, e.after, e.movement) for e in change.exposure] == [
        ("default/adservice", "grpc", "internal", "ingress", "widened")
    ]
    assert [(s.service, s.change, s.team_before, s.team_after) for s in change.services] == [
        ("default/redis-cart", "moved", "cart-team", "catalog")
    ]
    assert [(e.service, e.destination, e.movement, e.ports_after) for e in change.egress] == [
        ("default/cartservice", "api.example.com", "opened", ("443/TCP",))
    ]
    opened = {(c.movement, c.call.source, c.call.kind) for c in change.calls}
    assert ("opened", "ingress-controller:ingress-nginx/ingress", "ingress") in opened


AD_EGRESS_ANCHOR = "      reason: keep every shopper's cart in Redis (REDIS_ADDR=redis-cart:6379)\n"
EGRESS = """  egress:
    - host: api.example.com
      ports: [{port: 443}]
      reason: check prices with the supplier
"""


def test_policy_objects_are_compared_per_target_ignoring_moved_lines(tmp_path: Path) -> None:
    base, head = copy(tmp_path, "base"), copy(tmp_path, "head")
    edit(
        head,
        "services/cart-team.yaml",
        "apiVersion",
        "# a comment that moves every line\napiVersion",
    )
    assert compare(base, head, ["kubernetes", "istio"]).objects == ()
    ad_asks_cart(head, consent=True)
    changed = compare(base, head, ["kubernetes"]).objects
    assert {(o.kind, o.name, o.change) for o in changed} == {
        ("NetworkPolicy", "adservice-egress", "changed"),
        ("NetworkPolicy", "cartservice-ingress", "changed"),
    }


def test_findings_are_matched_by_code_file_and_message_not_line(tmp_path: Path) -> None:
    base, head = copy(tmp_path, "base"), copy(tmp_path, "head")
    ad_asks_cart(base, consent=False)
    ad_asks_cart(head, consent=False)
    edit(head, "services/storefront.yaml", "apiVersion", "# one more line\napiVersion")
    assert compare(base, head).introduced == ()
    fixed = compare(base, copy(tmp_path, "clean")).fixed
    assert [d.code for d in fixed] == ["TM210"]


def test_calls_merge_the_edges_of_one_caller_and_interface(tmp_path: Path) -> None:
    base = copy(tmp_path, "base")
    change = compare(base, base)
    assert change.calls == ()
    from trustmap.graph import load_graph

    calls = calls_of(load_graph([base]))
    checkout_cart = calls[("default/checkoutservice", "default/cartservice", "grpc")]
    assert checkout_cart.ports == ("7070/TCP",)
    assert checkout_cart.kind == "dependency"
