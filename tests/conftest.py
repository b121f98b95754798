"""Suite-wide settings: keep the parse cache of test runs out of the user's home."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("TRUSTMAP_CACHE_DIR", tempfile.mkdtemp(prefix="trustmap-test-cache-"))
