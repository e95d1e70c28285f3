"""Make the repository's ``bench`` package importable (it is not installed with the package).

A ``pythonpath = ["."]`` in pyproject's pytest options would do the same for every test.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
