"""A real Celery worker whose first report build is slow: for fault tests that kill it mid-build.

Usage, from the repository root: python -m tests.platform.slow_report_worker <celery worker arguments>
(as a module, so that ``tests/platform/<app>/`` does not shadow the platform's apps). The first
``analysis.report.write_report`` call (on this machine: until the file QSCHED_TEST_SLOW_ONCE_FILE exists)
prints "building slowly" and sleeps QSCHED_TEST_SLOW_REPORT_S seconds first; later calls run at full
speed. Everything else is the unchanged worker (``celery -A qsched_platform worker ...``).
"""
import os
import sys
import time
from pathlib import Path

import analysis.report

_write_report = analysis.report.write_report


def slow_write_report(*args, **kwargs):
    marker = Path(os.environ["QSCHED_TEST_SLOW_ONCE_FILE"])
    if not marker.exists():
        marker.touch()
        print("slow_report_worker: building slowly", flush=True)
        time.sleep(float(os.environ["QSCHED_TEST_SLOW_REPORT_S"]))
    return _write_report(*args, **kwargs)


analysis.report.write_report = slow_write_report

if __name__ == "__main__":
    from celery.__main__ import main

    sys.argv = ["celery", "-A", "qsched_platform", *sys.argv[1:]]
    sys.exit(main())
