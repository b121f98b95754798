"""Paths and dates the lab tests share."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "online-boutique"
TODAY = dt.date(2026, 11, 23)
