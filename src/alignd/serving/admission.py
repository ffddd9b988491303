"""The bounded request queue of the serving engine."""

import threading

from alignd.errors import Overloaded

RETRY_AFTER_SECONDS = 1


class Ticket:
    """A request's place in the queue. Release it once the request has finished."""

    def __init__(self, control: "AdmissionControl", streaming: bool) -> None:
        self._control = control
        self._streaming = streaming
        self._released = False

    def release(self) -> None:
        """Give the place back. Safe to call more than once."""
        self._control._release(self)


class AdmissionControl:
    """Counter of requests waiting or running and of open streams, which rejects those beyond the limits."""

    def __init__(self, max_requests: int, max_streams: int) -> None:
        self.max_requests = max_requests
        self.max_streams = max_streams
        self._lock = threading.Lock()
        self._requests = 0
        self._streams = 0

    def admit(self, streaming: bool) -> Ticket:
        """Take a place for one request, or raise Overloaded (503 with Retry-After) when none is free."""
        with self._lock:
            if self._requests >= self.max_requests:
                raise Overloaded(
                    f"The server already has {self._requests} inference requests waiting or running, its limit "
                    f"(ALIGND_MAX_QUEUED_REQUESTS={self.max_requests}). Retry in {RETRY_AFTER_SECONDS} second.",
                    retry_after_seconds=RETRY_AFTER_SECONDS,
                )
            if streaming and self._streams >= self.max_streams:
                raise Overloaded(
                    f"The server already has {self._streams} streaming responses open, its limit "
                    f"(ALIGND_MAX_CONCURRENT_STREAMS={self.max_streams}). Retry in {RETRY_AFTER_SECONDS} second.",
                    retry_after_seconds=RETRY_AFTER_SECONDS,
                )
            self._requests += 1
            if streaming:
                self._streams += 1
        return Ticket(self, streaming)

    @property
    def requests_in_flight(self) -> int:
        return self._requests

    def _release(self, ticket: Ticket) -> None:
        with self._lock:
            if ticket._released:
                return
            ticket._released = True
            self._requests -= 1
            if ticket._streaming:
                self._streams -= 1
