"""Helpers for the review tests: two copies of the Online Boutique example, edited as a change."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Sequence
from pathlib import Path

from trustmap.review import Change, Side, diff, directory_tree, load_tree

ROOT = Path(__file__).resolve().parents[2]
BOUTIQUE = ROOT / "examples" / "online-boutique"
TODAY = dt.date(2026, 11, 23)

AD_ASKS_CART = """  workload: {serviceAccount: adservice, podLabels: {app: adservice}}
  dependsOn:
    - service: default/cartservice
      interface: grpc
      methods: [hipstershop.CartService/GetCart]
      reason: show ads for what is in the cart
"""
CART_CONSUMERS = "consumers: [default/checkoutservice, default/frontend]"


def copy(tmp_path: Path, name: str) -> Path:
    """A fresh copy of the example (declarations only) at ``tmp_path/name``."""
    target = tmp_path / name
    shutil.copytree(BOUTIQUE, target, ignore=shutil.ignore_patterns("flows", "*.md"))
    return target


def edit(root: Path, file: str, old: str, new: str) -> None:
    """Replace ``old`` (which must be there) by ``new`` in ``root/file``."""
    path = root / file
    text = path.read_text()
    assert old in text, f"{old!r} not in {file}"
    path.write_text(text.replace(old, new, 1))


def ad_asks_cart(root: Path, *, consent: bool) -> None:
    """adservice declares a dependency on cartservice; cart consents when ``consent``."""
    edit(
        root,
        "services/storefront.yaml",
        "  workload: {serviceAccount: adservice, podLabels: {app: adservice}}\n",
        AD_ASKS_CART,
    )
    if consent:
        cart_consents(root)


def cart_consents(root: Path) -> None:
    """cartservice's grpc interface names adservice among its consumers."""
    edit(
        root,
        "services/cart-team.yaml",
        CART_CONSUMERS,
        CART_CONSUMERS.replace("]", ", default/adservice]"),
    )


def consent_not_required(*roots: Path) -> None:
    """The organisation of each of ``roots`` stops requiring the provider's consent."""
    for root in roots:
        edit(
            root,
            "organization.yaml",
            "requireProviderConsent: true",
            "requireProviderConsent: false",
        )


def compare(base: Path, head: Path, targets: Sequence[str] = ()) -> Change:
    """The change from ``base`` to ``head`` judged on :data:`TODAY`."""
    old, new = directory_tree(str(base)), directory_tree(str(head))
    return diff(Side(old, load_tree(old, TODAY)), Side(new, load_tree(new, TODAY)), targets=targets)
