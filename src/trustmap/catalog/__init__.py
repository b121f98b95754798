"""On-ramps: draft declarations from the catalogs teams already keep (Backstage, Otterize
intents), and the declarations back out as Backstage entities.

Beside ``discover`` in the layers: it reads files and builds drafts for a person to review; the
CLI writes them.
"""

from __future__ import annotations

from trustmap.catalog.backstage import import_backstage
from trustmap.catalog.drafts import Drafts
from trustmap.catalog.export import export_backstage
from trustmap.catalog.otterize import import_otterize

__all__ = ["Drafts", "export_backstage", "import_backstage", "import_otterize"]
