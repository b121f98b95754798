"""approvedBy written into YAML text: block and flow entries, comments kept, odd layouts left alone."""

from __future__ import annotations

from trustmap.server.writeback import with_approvals

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
