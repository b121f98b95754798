"""The registry server: many teams push declarations; the merged graph is read, approved,
versioned and audited over a REST API and a web UI.

    >>> from trustmap.server import Settings, create_app
    >>> app = create_app(Settings(database_url="sqlite:///registry.db"))

Only this package imports FastAPI and SQLAlchemy (install the ``server`` extra).
"""

from __future__ import annotations

from trustmap.server.app import create_app
from trustmap.server.settings import Settings

__all__ = ["Settings", "create_app"]
