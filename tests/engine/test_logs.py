"""The queued log handler: records are written from the handler's own thread, with their
message as it was when it was logged."""

from __future__ import annotations

import logging
import threading

from engine import logs


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((threading.current_thread().name, self.format(record)))


def test_a_queued_record_is_written_from_its_own_thread_as_it_was_logged():
    target = _Capture()
    target.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler = logs.queued(target)
    log = logging.getLogger("flashpool.test_logs")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        pools = ["POOL1"]
        log.info("%s RC=%d: %s", "LIST", 0, pools)
        pools.append("POOL2")  # changed after the call: the line says what was true then
        try:
            raise ValueError("the catalog said no")
        except ValueError:
            log.error("%s failed", "FRBACKUP", exc_info=True)
    finally:
        log.removeHandler(handler)
        handler.close()  # writes every record still queued
    (first_thread, first), (second_thread, second) = target.lines
    assert first == "INFO flashpool.test_logs: LIST RC=0: ['POOL1']"
    assert second.startswith("ERROR flashpool.test_logs: FRBACKUP failed\nTraceback")
    assert "ValueError: the catalog said no" in second
    assert first_thread == second_thread != threading.current_thread().name
