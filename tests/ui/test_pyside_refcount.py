"""PySide6 6.12.0 on Python 3.11 drops a reference to None on every void call; guard against it."""

import sys

from PySide6.QtCore import QObject


def test_void_calls_do_not_drift_the_refcount_of_none(qapp) -> None:
    calls = 3000
    for _ in range(50):  # warm caches so one-off allocations do not count
        qapp.processEvents()
    obj = QObject()
    before = sys.getrefcount(None)
    for _ in range(calls):
        qapp.processEvents()
        obj.setObjectName("x")
    drift = sys.getrefcount(None) - before
    # A leak or drop would be about +/- one per call; a few stray references are noise.
    assert abs(drift) < calls // 10, f"refcount of None drifted by {drift} over {calls} void calls"
