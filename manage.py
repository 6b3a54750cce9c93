#!/usr/bin/env python
"""Django's command-line utility for the qsched-eval platform.

The Django project and its apps live in ``platform/``, a plain folder (not a
package: a package named ``platform`` would shadow the standard library), so
it is put on ``sys.path`` here.
"""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "platform"))
sys.path.insert(0, str(ROOT))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qsched_platform.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
