"""approvedBy written into YAML text: block and flow entries, comments kept, odd layouts left alone."""

from __future__ import annotations

from trustmap.server.writeback import with_approvals, with_consumers

HEAD = (
    "apiVersion: trustmap.dev/v1alpha1\nkind: Service\nmetadata: {name: a, namespace: x}\n"
    "spec:\n  team: t\n  workload: {serviceAccount: a, podLabels: {app: a}}\n  dependsOn:\n"
)


def test_block_entry_gets_a_line_after_its_last_line_and_comments_stay() -> None:
    text = HEAD + (
        "    - service: x/b\n      methods:\n        - GET\n      reason: why   # keep me\n"
        "\n    - service: x/d\n  # trailing\n"
    )
    patched = with_approvals("t", "f.yaml", text, {(8, 7): "o@example.com"})
    assert patched == text.replace("# keep me\n", '# keep me\n      approvedBy: "o@example.com"\n')


def test_flow_entry_gets_a_key_before_its_closing_brace() -> None:
    text = HEAD + '    - {service: x/c, reason: "a } in a string"}  # c\n'
    patched = with_approvals("t", "f.yaml", text, {(8, 7): "o@example.com"})
    assert patched.endswith(
        '    - {service: x/c, reason: "a } in a string", approvedBy: "o@example.com"}  # c\n'
    )


def test_last_entry_without_final_newline_and_an_already_named_approver() -> None:
    text = HEAD + "    - service: x/b\n      reason: r\n    - service: x/c\n      approvedBy: me"
    patched = with_approvals("t", "f.yaml", text, {(8, 7): "o@example.com", (10, 7): "o"})
    assert patched == text.replace("reason: r\n", 'reason: r\n      approvedBy: "o@example.com"\n')


def test_unknown_places_leave_the_file_unchanged() -> None:
    text = HEAD + "    - service: x/b\n"
    assert with_approvals("t", "f.yaml", text, {(3, 1): "o"}) == text
    assert with_approvals("t", "f.yaml", text, {}) is text


PROVIDER = (
    "apiVersion: trustmap.dev/v1alpha1\nkind: Service\nmetadata: {name: p, namespace: x}\n"
    "spec:\n  team: t\n  workload: {serviceAccount: p, podLabels: {app: p}}\n  interfaces:\n"
    "    - name: http\n      port: 80\n"
)


def test_an_approved_caller_joins_a_flow_list_of_consumers() -> None:
    text = PROVIDER + "      consumers: [x/a]   # who\n"
    patched = with_consumers("t", "f.yaml", text, {("x/p", "http"): ["x/b"]})
    assert patched == text.replace("[x/a]", '[x/a, "x/b"]')


def test_an_approved_caller_joins_a_block_list_of_consumers_before_the_next_key() -> None:
    text = PROVIDER + "      consumers:\n      - x/a\n      # note\n      methods: [GET]\n"
    patched = with_consumers("t", "f.yaml", text, {("x/p", "http"): ["x/b", "x/a"]})
    assert patched == text.replace("- x/a\n", '- x/a\n      - "x/b"\n')


def test_an_interface_without_consumers_or_another_interface_is_left_alone() -> None:
    text = PROVIDER
    assert with_consumers("t", "f.yaml", text, {("x/p", "http"): ["x/b"]}) == text
    listed = PROVIDER + "      consumers: [x/a]\n"
    assert with_consumers("t", "f.yaml", listed, {("x/p", "grpc"): ["x/b"]}) == listed
