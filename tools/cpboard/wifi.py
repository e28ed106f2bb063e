"""Stand-in for CircuitPython's wifi (shared-bindings/wifi): `radio`, joined to any network
it is asked to join (the unix machine's own network is behind it)."""


class Radio:
    """shared-bindings/wifi/Radio.c, station side only."""

    def __init__(self):
        self.enabled = True
        self.connected = False
        self.ssid = None
        self.hostname = "cpboard"

    def connect(self, ssid, password="", *, channel=0, bssid=None, timeout=None):
        if not ssid:
            raise ValueError("ssid must be 1 to 32 bytes")
        self.ssid = ssid
        self.connected = True

    @property
    def ipv4_address(self):
        return "127.0.0.1" if self.connected else None


radio = Radio()
