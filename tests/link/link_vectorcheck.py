"""Checks the committed link vectors; board-compatible so it runs under MicroPython too.

`check(vectors)` returns a list of failures (empty when every vector holds) and a count.
"""

from binascii import hexlify, unhexlify

from edgelink import frame, messages
from edgelink.link import board_link, gateway_link
from edgelink.mpack import packb, unpackb


def _hex(data):
    return hexlify(bytes(data)).decode()


class Checker:
    def __init__(self, vectors):
        self.v = vectors
        self.failures = []
        self.checked = 0

    def expect(self, ok, what):
        self.checked += 1
        if not ok:
            self.failures.append(what)

    def frames(self):
        f = self.v["frames"]
        writer = frame.FrameWriter(f["max_frame"])
        for case in f["good"]:
            record = unhexlify(case["record"])
            self.expect(_hex(writer.encode(record)) == case["wire"], "frame encode " + case["wire"])
            reader = frame.FrameReader(f["max_frame"])
            got = [bytes(r) for r in reader.feed(unhexlify(case["wire"]))]
            self.expect(got == [record], "frame decode " + case["wire"])
        for case in f["rejected"]:
            reader = frame.FrameReader(f["max_frame"])
            got = list(reader.feed(unhexlify(case["wire"])))
            self.expect(got == [] and reader.drops.counts == {case["reason"]: 1},
                        "frame rejected as %s: %r" % (case["reason"], reader.drops.counts))

    def mpack(self):
        for case in self.v["mpack"]:
            value = eval(case["value"])
            self.expect(_hex(packb(value)) == case["packed"], "pack " + case["value"][:40])
            self.expect(unpackb(unhexlify(case["packed"])) == value,
                        "unpack " + case["value"][:40])

    def messages(self):
        for body in self.v["messages"]["good"]:
            self.expect(_hex(packb(messages.decode(unhexlify(body)))) == body, "message " + body)
        for case in self.v["messages"]["rejected"]:
            try:
                messages.decode(unhexlify(case["body"]))
                self.expect(False, "message accepted: " + case["body"])
            except messages.MessageError as exc:
                self.expect((exc.code, exc.request_id) == (case["code"], case["id"]),
                            "message %s: %s %s" % (case["body"], exc.code, exc.request_id))

    def _end(self, name):
        v = self.v
        written = []
        nonces = [unhexlify(n) for n in v[name + "_nonces"]]

        def write(data):
            written.append(_hex(data))

        def random():
            return nonces.pop(0)

        board_id = v["board_id"].encode()
        key = unhexlify(v["key"])
        if name == "board":
            link = board_link(board_id, key, write, max_frame=v["max_frame"], window=2,
                              log=None, clock=lambda: 0, random=random)
        else:
            link = gateway_link({board_id: key}, write, clock=lambda: 0, random=random)
        return link, written

    def replay(self, scenario, name):
        """Play one end against the recorded other end: same replies, same deliveries."""
        link, written = self._end(name)
        label = scenario["name"] + " as " + name + ": "
        produced = 0
        for event in scenario["events"]:
            if event.get("by") == name:
                if event["do"] == "open":
                    link.open()
                elif event["do"] == "send":
                    body = unhexlify(event["body"]) if "body" in event else None
                    link.send(unpackb(unhexlify(event["msg"])), body)
                else:
                    link.session.send(unhexlify(event["body"]))
            elif event.get("to") == name:
                got = [_hex(packb(m)) for m in link.feed(unhexlify(event["wire"]))]
                self.expect(got == event["delivers"], label + "delivered %r" % got)
            elif event.get("from") == name:
                ok = produced < len(written) and written[produced] == event["wire"]
                self.expect(ok, label + "wrote frame %d differently" % produced)
                produced += 1
        self.expect(produced == len(written), label + "wrote %d frames, recorded %d"
                    % (len(written), produced))
        self.expect(link.drops.counts == scenario["drops"][name],
                    label + "drops %r" % link.drops.counts)

    def sessions(self):
        for scenario in self.v["sessions"]:
            self.replay(scenario, "board")
            self.replay(scenario, "gateway")


def check(vectors):
    checker = Checker(vectors)
    checker.frames()
    checker.mpack()
    checker.messages()
    checker.sessions()
    return checker.failures, checker.checked
