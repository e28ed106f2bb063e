"""Stand-in for CircuitPython's storage (shared-bindings/storage): the CIRCUITPY filesystem,
read-only to the board's code until boot.py remounts it (the computer's USB drive writes it)."""


class VfsFat:
    """shared-bindings/storage: the mount's `readonly`, as the board's code sees it."""

    def __init__(self):
        self.readonly = True


_root = VfsFat()


def getmount(mount_path):
    if mount_path != "/":
        raise OSError("no mount at %s" % mount_path)
    return _root


def remount(mount_path, readonly=False, *, disable_concurrent_write_protection=False):
    getmount(mount_path).readonly = readonly
