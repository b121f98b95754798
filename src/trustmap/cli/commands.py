"""The subcommands, by name → ``module:attribute``; each lives in its own module under ``trustmap.cli``.

Commands are imported only when run (``trustmap analyze`` need not load pydantic, DuckDB or FastAPI),
so a command's start-up cost is its own.
"""

from __future__ import annotations

__all__ = ["COMMANDS"]

COMMANDS: dict[str, str] = {
    "validate": "trustmap.cli.validate:validate",
    "query": "trustmap.cli.query:query",
    "explain": "trustmap.cli.explain:explain",
    "graph": "trustmap.cli.graph:graph",
    "schema": "trustmap.cli.schema:schema",
    "analyze": "trustmap.cli.analyze:analyze",
    "compile": "trustmap.cli.compile:compile_command",
    "observe": "trustmap.cli.observe:observe",
    "serve": "trustmap.cli.serve:serve",
    "db": "trustmap.cli.serve:db",
    "push": "trustmap.cli.push:push",
    "pull": "trustmap.cli.push:pull",
    "pending": "trustmap.cli.push:pending",
    "approve": "trustmap.cli.push:approve",
    "reject": "trustmap.cli.push:reject",
    "audit": "trustmap.cli.audit:audit",
    "verify": "trustmap.cli.verify:verify_command",
    "drift": "trustmap.cli.drift:drift",
    "discover": "trustmap.cli.discover:discover",
    "lab": "trustmap.cli.lab:lab",
    # review (issue 16)
    "diff": "trustmap.cli.diff:diff_command",
    "codeowners": "trustmap.cli.codeowners:codeowners_command",
    "import": "trustmap.cli.catalog:import_group",
    "export": "trustmap.cli.catalog:export_group",
    # registry: ownership
    "service": "trustmap.cli.service:service",
    "token": "trustmap.cli.token:token",
}
