"""trustmap: declare who may call whom, check it, compile it, prove it, compare it with traffic."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
