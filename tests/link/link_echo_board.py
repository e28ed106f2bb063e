"""A tiny board application on the shared link code, run in a thread by the transport tests."""

from __future__ import annotations

import threading
import time

from edgelink.link import board_link

HELLO = {"t": "hello", "board": "board-7", "firmware": "0.1.0", "engine": "wasm3",
         "profile": "test", "window": 2, "free_mem": 1, "free_flash": 1, "actors": {}}


def serve(port, board_id: bytes, key: bytes, stop: threading.Event, max_frame: int = 512,
          log=None) -> None:
    """The board's poll loop: echo invocations reversed, acknowledge installs and removals."""
    link = board_link(board_id, key, port.write, max_frame=max_frame, max_body=300_000,
                      log=log)
    link.on_open = lambda: link.send(dict(HELLO, max_frame=max_frame))
    link.open()
    while not stop.is_set():
        try:
            inbox = link.poll(port)
        except OSError:  # the gateway hung up
            return
        for msg in inbox:
            answer(link, msg)
        if not inbox:
            time.sleep(0.001)


def answer(link, msg: dict) -> None:
    t = msg["t"]
    if t == "invoke":
        link.send({"t": "invoke_result", "id": msg["id"]}, bytes(msg["body"][::-1]))
    elif t == "install":
        link.send({"t": "installed", "id": msg["id"], "actor": msg["actor"],
                   "sha256": msg["sha256"]})
    elif t == "remove":
        link.send({"t": "removed", "id": msg["id"], "actor": msg["actor"]})


def start(port, board_id: bytes, key: bytes, **kwargs) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=serve, args=(port, board_id, key, stop), kwargs=kwargs,
                              daemon=True)
    thread.start()
    return thread, stop
