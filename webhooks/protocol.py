"""uvicorn's h11 protocol with the two limits the receiver needs and uvicorn lacks:

- a request head must arrive within PARTNER_REVIEW_WEBHOOK_HEAD_TIMEOUT_SECONDS of the
  connection opening (or of the previous response, on a kept-alive connection), else the
  connection is closed: uvicorn's `--timeout-keep-alive` stops counting at the first byte, so a
  sender trickling its head one byte at a time would hold the connection for ever;
- a chunk announcing more than PARTNER_REVIEW_MAX_BODY_BYTES is answered 413 at once and the
  connection closed, instead of waiting for bytes that would be refused anyway (the body
  deadline, 408, would end it only later).

The head itself is bounded by h11 (16 KiB by default, uvicorn's `--h11-max-incomplete-event-size`).
`partner-review serve` and `webhooks.server.running` use this class; a receiver started with the
`uvicorn` command gets neither limit and needs them from its proxy (README, Operations)."""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from partner_review.models.settings import get_settings


class GuardedH11Protocol(H11Protocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self.head_timeout = settings.webhook_head_timeout_seconds
        self.max_chunk = settings.max_body_bytes
        self.head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:
            self._disarm()  # the head is in
        reader = getattr(self.conn, "_reader", None)  # h11's ChunkedReader while a chunked body is read
        if getattr(reader, "_bytes_in_chunk", 0) > self.max_chunk and not self.transport.is_closing():
            self._refuse_chunk()

    def _arm(self) -> None:
        self._disarm()
        self.head_timer = self.loop.call_later(self.head_timeout, self._head_late)

    def _disarm(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_late(self) -> None:
        self.head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def _refuse_chunk(self) -> None:
        body = b'{"error":"a chunk is larger than the %d byte limit"}' % self.max_chunk
        if self.conn.our_state is h11.SEND_RESPONSE and (self.cycle is None or not self.cycle.response_started):
            headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
            self.transport.write(self.conn.send(h11.Response(status_code=413, headers=headers)))
            self.transport.write(self.conn.send(h11.Data(data=body)))
            self.transport.write(self.conn.send(h11.EndOfMessage()))
        if self.cycle is not None:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.close()
