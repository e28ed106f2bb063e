"""The board's program: read config.json (waiting while it is missing or wrong), then serve."""

from edgehost import port
from edgehost.board import Board
from edgehost.config import ConfigError, load_config

CONFIG = "config.json"
# Installed actors live under this folder of the board's filesystem. Not "edgehost": the
# board's path starts with the current folder, where a folder of that name would shadow the
# edgehost package once anything was installed (the next boot then fails to import it).
FLASH = "actors"
RECHECK_MS = 5000


def wait_for_config(path=CONFIG, recheck_ms=RECHECK_MS):
    """The checked config; while it is missing or wrong, say why once and check again."""
    said = None
    while True:
        try:
            return load_config(path)
        except ConfigError as exc:
            if str(exc) != said:
                said = str(exc)
                print("edgehost: %s; waiting for provisioning (checking every %d s)"
                      % (said, recheck_ms // 1000 or 1))
        port.sleep_ms(recheck_ms)


def main(config_path=CONFIG, flash_root=FLASH, recheck_ms=RECHECK_MS):
    config = wait_for_config(config_path, recheck_ms)
    while True:
        try:
            connect = port.link_connector(config.transport)
            break
        except OSError as exc:  # e.g. the UART pins or the listening port are taken
            print("edgehost: cannot set up the %s link: %s; retrying"
                  % (config.transport["kind"], exc))
            port.sleep_ms(recheck_ms)
    print("edgehost: board %s starting (%s transport)" % (config.board_id,
                                                         config.transport["kind"]))
    Board(config, flash_root, connect).run()


if __name__ == "__main__":
    main()
