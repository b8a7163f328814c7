#!/usr/bin/env python3
"""Rebuild the index from the knowledge folder: a thin wrapper around ``faqbot index``.

    python scripts/build_index.py [--knowledge DIR] [--index DIR]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main(["index", *sys.argv[1:]]))
