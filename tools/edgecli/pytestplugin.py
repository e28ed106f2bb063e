"""pytest plugin: a user's actors tested on a simulated or real board (`edgehost_board`), on a
lattice (`edgehost_lattice`), on one board or several; the board's facts and log go into the
report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from edgecli.benchmap import (
    RUNTIMES,
    SIMULATED,
    BenchBoard,
    BenchMapError,
    board_missing,
    choose,
    load_bench_map,
    micropython_built,
    profile_labels,
)

# The board, the lattice and the gateway are imported by the fixtures that use them: pytest
# loads this plugin in every run of an environment that has edgehost, tests of boards or not.
if TYPE_CHECKING:
    from edgecli.benchboard import BenchLoop, EdgehostBoard



def __getattr__(name: str) -> Any:
    # what a user's test may import from here: `from edgecli.pytestplugin import BoardTestError`
    if name in ("BoardTestError", "EdgehostBoard"):
        from edgecli import benchboard
        return getattr(benchboard, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

BOARDS = pytest.StashKey["list[EdgehostBoard]"]()
BENCH = pytest.StashKey["tuple[list[BenchBoard], str] | None"]()
NO_BOARD = pytest.StashKey[str]()
MARKER = "edgehost_board"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("edgehost", "edgehost boards under test")
    group.addoption("--board-port", metavar="PATH|URL",
                    help="test on the real board on this serial port")
    group.addoption("--board-tcp", metavar="HOST:PORT",
                    help="test on the real board reached over Wi-Fi at this address")
    group.addoption("--board-profile", metavar="NAME",
                    help="the board's profile (edgehost board profiles)")
    group.addoption("--board-key-file", metavar="FILE",
                    help="the real board's id and pairing key (edgehost provision --key-file; "
                         "default EDGEHOST_KEY_FILE)")
    group.addoption("--board-baud", type=int, default=921600,
                    help="the real board's link speed (default 921600)")
    group.addoption("--board-runtime", choices=RUNTIMES,
                    help="the simulated board's interpreter (default: the board's MicroPython "
                         "where it is built, else cpython)")
    group.addoption("--count", type=int, default=1, metavar="N",
                    help="simulated boards per test (default 1)")
    group.addoption("--boards", metavar="FILE",
                    help="test on the real boards of a registry file (as edgehost gateway "
                         "reads it)")
    group.addoption("--hardware-map", metavar="FILE",
                    help="the bench's real boards: a YAML list of {port | tcp, profile, "
                         "key_file, labels}")
    group.addoption("--lattice-nats", metavar="URL",
                    help="the NATS server (with JetStream) for edgehost_lattice; default: one "
                         "started for the session")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER + "(count=1, **labels): the boards a test needs "
                            "(e.g. psram=True); skipped when the bench lacks them")
    port, tcp = config.getoption("--board-port"), config.getoption("--board-tcp")
    if port and tcp:
        raise pytest.UsageError("--board-port and --board-tcp: give one of them")
    if config.getoption("--count") < 1:
        raise pytest.UsageError("--count %d: must be 1 or more" % config.getoption("--count"))
    config.stash[BENCH] = _bench(config)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A real board asked for and not there: its tests skip, said once per file."""
    reason = config.stash.get(NO_BOARD, None)
    if reason is None:
        return
    for item in items:
        if any(name.startswith("edgehost_") for name in getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.skip(reason=reason))


def _key_file(config: pytest.Config) -> Path | None:
    given = config.getoption("--board-key-file") or os.environ.get("EDGEHOST_KEY_FILE")
    return Path(given) if given else None


def _bench(config: pytest.Config) -> tuple[list[BenchBoard], str] | None:
    """The real boards the options name (and what names them), or None: simulated boards. A
    board named by --board-port or --board-tcp that is not there is noted: its tests skip."""
    port, tcp = config.getoption("--board-port"), config.getoption("--board-tcp")
    profile = config.getoption("--board-profile")
    if port or tcp:
        where = port or "tcp://" + tcp
        option = "--board-port" if port else "--board-tcp"
        key_file = _key_file(config)
        missing = board_missing(where)
        if missing:
            config.stash[NO_BOARD] = ("%s (%s): plug it in, or leave %s out to run against "
                                      "the simulated board" % (missing, option, option))
        elif not (profile and key_file):
            raise pytest.UsageError("%s needs --board-profile NAME and --board-key-file FILE "
                                    "(from edgehost provision --key-file)" % option)
        return [BenchBoard(where, profile or "", key_file, profile_labels(profile))], option
    if config.getoption("--hardware-map"):
        path = Path(config.getoption("--hardware-map"))
        try:
            return load_bench_map(path), "hardware map %s" % path
        except BenchMapError as exc:
            raise pytest.UsageError(str(exc)) from None
    if config.getoption("--boards"):
        path = Path(config.getoption("--boards"))
        from edgecli.benchparts import BoardKey, RegistryError, load_registry

        try:
            entries = load_registry(path)
        except (RegistryError, OSError) as exc:
            raise pytest.UsageError("--boards: %s" % exc) from None
        listening = [e.board_id for e in entries if e.how == "listen"]
        if listening:
            raise pytest.UsageError("--boards %s: board %s waits for its gateway (listen); the "
                                    "tests dial their boards: give its port or tcp address"
                                    % (path, listening[0]))
        return ([BenchBoard(e.address if e.how == "port" else "tcp://" + e.address, "",
                            BoardKey(e.board_id, e.pairing_key), e.labels, e.baud)
                 for e in entries], "--boards %s" % path)
    return None


@pytest.fixture(scope="session")
def edgehost_bench() -> Any:
    """The event loop the boards' links run on, for the session."""
    from edgecli.benchboard import BenchLoop

    bench = BenchLoop()
    yield bench
    bench.close()


def _runtime(config: pytest.Config) -> str:
    return config.getoption("--board-runtime") or (
        "micropython" if micropython_built() else "cpython")


@pytest.fixture
def edgehost_runtime(request: pytest.FixtureRequest) -> str:
    """The simulated boards' interpreter (--board-runtime); a conftest may override it, or
    parametrize it to run each test on several."""
    return _runtime(request.config)


@pytest.fixture
def edgehost_boards(request: pytest.FixtureRequest, edgehost_bench: BenchLoop,
                    edgehost_runtime: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The boards of the test: as many as its edgehost_board marker's count (or --count), with
    the marker's labels; skipped in one line when the bench has not got them."""
    from edgecli.benchboard import RealBoard, SimulatedBoard

    config = request.config
    marker = request.node.get_closest_marker(MARKER)
    wanted = dict(marker.kwargs) if marker else {}
    count = int(wanted.pop("count", config.getoption("--count")))
    bench = config.stash[BENCH]
    boards: list[EdgehostBoard] = []
    request.node.stash[BOARDS] = boards
    try:
        if bench is None:
            profile = config.getoption("--board-profile")
            chosen = choose([BenchBoard(SIMULATED, profile or "", None,
                                        profile_labels(profile))], 1, wanted, "simulated")
            if isinstance(chosen, str):
                pytest.skip(chosen)
            folder = tmp_path_factory.mktemp("board")
            for number in range(count):
                boards.append(SimulatedBoard(folder / str(number), edgehost_runtime, profile,
                                             edgehost_bench, "sim%d" % (number + 1)))
        else:
            real, source = bench
            chosen = choose(real, count, wanted, source)
            if isinstance(chosen, str):
                pytest.skip(chosen)
            for place in chosen:
                assert place.key is not None  # a real board without one is a usage error
                board = RealBoard(place.where, place.key, place.profile or None, edgehost_bench,
                                  config.getoption("--board-baud") if source.startswith(
                                      "--board-") else place.baud)
                board.labels = place.labels
                boards.append(board)
        for number, board in enumerate(boards, 1):
            name = "board" if number == 1 else "board%d" % number
            for fact, value in board.facts().items():
                request.node.user_properties.append(("%s.%s" % (name, fact), value))
        yield boards
    finally:
        for board in boards:
            board.stop()


@pytest.fixture
def edgehost_board(edgehost_boards: list[EdgehostBoard]) -> EdgehostBoard:
    """The board under test: simulated unless --board-port, --board-tcp, --boards or
    --hardware-map name real ones."""
    return edgehost_boards[0]


@pytest.fixture(scope="session")
def edgehost_actor(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """edgehost_actor("echo"): the path of one of edgehost's example actors;
    edgehost_actor("src/my_actor.c"): your own C actor; each built (with zig) as edgehost
    builds its own."""
    from edgecli.benchparts import ActorBuildError, example_actor, own_actor

    out_dir = tmp_path_factory.mktemp("actors")

    def build(name_or_source: str | Path) -> Path:
        try:
            if str(name_or_source).endswith(".c"):
                return own_actor(Path(name_or_source).resolve(), out_dir)
            return example_actor(str(name_or_source))
        except ActorBuildError as exc:
            pytest.fail(str(exc), pytrace=False)

    return build


def pytest_report_header(config: pytest.Config) -> str:
    bench = config.stash.get(BENCH, None)
    if bench is not None:
        return "edgehost: the boards of %s" % bench[1]
    return "edgehost: simulated boards on %s" % _runtime(config)


@pytest.fixture(scope="session")
def edgehost_nats_url(request: pytest.FixtureRequest,
                      tmp_path_factory: pytest.TempPathFactory) -> Any:
    """--lattice-nats, or a nats-server with JetStream started for the session."""
    given = request.config.getoption("--lattice-nats")
    if given:
        yield given
        return
    from edgecli.benchparts import EmbeddedNatsServer

    server = EmbeddedNatsServer(tmp_path_factory.mktemp("nats"), ends_with_us=True).start()
    yield server.url
    server.stop()


@pytest.fixture
def edgehost_lattice(edgehost_boards: list[EdgehostBoard], edgehost_bench: BenchLoop,
                     edgehost_nats_url: str, tmp_path: Path) -> Any:
    """The test's boards as hosts on a lattice of their own; `hosts[i]` is board i's."""
    from edgecli.benchlattice import EdgehostLattice

    lattice = EdgehostLattice(edgehost_nats_url, edgehost_boards, edgehost_bench,
                              tmp_path / "keys")
    yield lattice
    lattice.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed test's report carries each board's log; the skips for a missing real board
    are one line per file."""
    outcome = yield
    report = outcome.get_result()
    reason = item.config.stash.get(NO_BOARD, None)
    if report.skipped and reason is not None and report.longrepr[2].endswith(reason):
        # folded with the file's other tests, whatever marks they carry: one line for them
        report.longrepr = (str(item.path), None, reason)
    if report.when != "call" or not report.failed:
        return
    for board in item.stash.get(BOARDS, []):
        text = "\n".join(board.logs() + board.console())
        report.sections.append(("edgehost board %s log" % board.board_id, text))
        # JUnit XML takes the properties from the teardown's report, made from the item's
        item.user_properties.append(("board %s log" % board.board_id, text))
