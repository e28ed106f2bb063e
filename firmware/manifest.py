# The board's host code frozen into the firmware as bytecode (a MicroPython freeze manifest).
# ruff: noqa: F821 - package() and module() are given by the manifest reader
#
# A firmware build includes this after the port's own manifest, for example
#     include("$(PORT_DIR)/boards/manifest.py")   (or, for the unix port, extmod/asyncio)
#     include("<repo>/firmware/manifest.py")
# Paths here are relative to this file. main.py is frozen too, so a freshly flashed board boots
# into the host; files copied to the board's filesystem (edgehost deploy) do not shadow frozen
# main.py, but a copied package does shadow its frozen twin ('' comes before .frozen).
package("edgehost")
module("main.py")
package("edgelink", base_path="../shared")
package("edgemodule", base_path="../shared")
package("edgeprofile", base_path="../shared")
