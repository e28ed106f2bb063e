"""`edgehost firmware build`, `edgehost ports` and `edgehost flash`: from a profile to a board."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from edgecli import (
    cpbuild,
    cpfirmware,
    firmware,
    flashing,
    mpbuild,
    portpatch,
    profiles,
    serialports,
)
from edgecli.output import fail, note, report


def _profile(name: str) -> profiles.Profile:
    try:
        return profiles.profile(name)
    except profiles.ProfileError as exc:
        raise firmware.FirmwareError(str(exc)) from None


def circuitpython_plan(args: argparse.Namespace) -> int:
    """`firmware build --runtime circuitpython`: the plan only (see edgecli.cpfirmware)."""
    if not args.dry_run:
        return fail("firmware build --runtime circuitpython: only --dry-run for now; the build "
                    "needs ESP-IDF and CircuitPython's submodules, which the pinned sources do "
                    "not carry")
    try:
        cpbuild.ensure_built()  # unpacks the pinned CircuitPython tree the plan reads
        plan = cpfirmware.plan(args.profile)
    except (firmware.FirmwareError, mpbuild.MicroPythonBuildError) as exc:
        return fail(str(exc))
    command = ["make", *plan.make_args()]
    lines = ["# profile %s: CircuitPython %s board %s, %s" % (
        plan.profile.name, cpbuild.VERSION, plan.board, plan.profile.chip)]
    for name, text in plan.files.items():
        lines.append("# %s\n%s" % (name, text.rstrip()))
    lines.append(shlex.join(command))
    report(args, "\n".join(lines),
           {"profile": plan.profile.name, "board": plan.board, "files": plan.files,
            "commands": [command], "image": str(plan.image)})
    return 0


def firmware_build(args: argparse.Namespace) -> int:
    if args.runtime == "circuitpython":
        return circuitpython_plan(args)
    try:
        plan = firmware.plan(args.profile, output=Path(args.output) if args.output else None)
        if args.dry_run:
            runner = (firmware.idf_runner(plan) if args.runner
                      else firmware.IdfRunner([], "idf.py", "idf.py"))
            commands = [runner.idf(plan.idf_args()), runner.python(plan.makeimg_args())]
            lines = ["# profile %s: MicroPython %s board %s%s, %s" % (
                plan.profile.name, firmware.MICROPYTHON_VERSION, plan.board,
                " variant " + plan.variant if plan.variant else "", plan.profile.chip)]
            for name, text in plan.files.items():
                lines.append("# %s\n%s" % (name, text.rstrip()))
            patches = portpatch.listing()
            for patch in patches:
                lines.append("# patch %s (%s), after the line %r:\n%s" % (
                    patch["file"], patch["name"], patch["after"].rstrip().splitlines()[-1].strip(),
                    patch["text"].rstrip()))
            lines.extend(" ".join(command) for command in commands)
            report(args, "\n".join(lines),
                   {"profile": plan.profile.name, "board": plan.board, "variant": plan.variant,
                    "files": plan.files, "patches": patches, "commands": commands,
                    "idf": runner.what, "image": str(plan.image)})
            return 0
        image, manifest = firmware.build(args.profile, plan.image)
    except firmware.FirmwareError as exc:
        return fail(str(exc))
    report(args, "%s: %s (%d bytes, sha256 %s…)\nmanifest: %s" % (
        args.profile, image, image.stat().st_size, manifest["image_sha256"][:16],
        firmware.manifest_path(image)), {"image": str(image), "manifest": manifest})
    return 0


def ports(args: argparse.Namespace) -> int:
    usb = None
    if args.profile:
        try:
            usb = serialports.profile_usb_ids(profiles.profile_json(args.profile).get("usb"))
        except profiles.ProfileError as exc:
            return fail(str(exc))
    found = serialports.list_serial_ports(usb)
    if args.json:
        report(args, "", {"ports": [port.as_json() for port in found]})
        return 0
    if not found:
        print("no serial ports found: plug the board in with a data-capable USB cable "
              "(on Linux, `dmesg` shows whether the bridge was seen)")
        return 0
    for port in found:
        mark = "  <- %s" % args.profile if port.expected else ""
        print("%-22s %-10s %-32s %s%s" % (port.device, port.usb_id, port.what,
                                           port.description, mark))
    return 0


def flash(args: argparse.Namespace) -> int:
    try:
        profile = _profile(args.profile)
    except firmware.FirmwareError as exc:
        return fail(str(exc))
    image = Path(args.image) if args.image else firmware.plan(args.profile).image
    if not image.exists():
        hint = ("build it: edgehost firmware build --profile %s" % args.profile
                if not args.image else "give the path of a firmware image")
        return fail("image %s: not found; %s" % (image, hint))
    try:
        checked = flashing.flash(args.port, profile, image, args.baud, args.connect_attempts,
                                 say=note, erase=args.erase)
    except flashing.FlashError as exc:
        return fail(str(exc))
    report(args, "flashed %s to the %s on %s and reset it" % (image, checked.chip, args.port),
           {"image": str(image), "chip": checked.chip, "port": args.port,
            "offset": checked.offset, "edgehost": checked.manifest is not None})
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    fw = sub.add_parser("firmware", help="build the board firmware for a profile")
    actions = fw.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = actions.add_parser("build", help="MicroPython's ESP32 port with wasm3 and the host "
                               "code frozen in, built with ESP-IDF (or its container image)")
    build.add_argument("--profile", required=True, metavar="NAME",
                       help="the board profile (hardware/profiles/NAME.json)")
    build.add_argument("-o", "--output", metavar="FILE",
                       help="the image (default build/firmware/edgehost-NAME.bin; the "
                            "manifest goes beside it as .json)")
    build.add_argument("--runtime", choices=("micropython", "circuitpython"),
                       default="micropython",
                       help="the board's interpreter (default micropython; circuitpython: the "
                            "plan only, with --dry-run)")
    build.add_argument("--dry-run", action="store_true",
                       help="print the generated files and the idf.py command, build nothing")
    build.add_argument("--runner", action="store_true",
                       help="with --dry-run: the command as it would run here (ESP-IDF or "
                            "a container)")
    build.add_argument("--json", action="store_true", help="print one JSON object")
    build.set_defaults(run=firmware_build)

    listing = sub.add_parser("ports", help="serial ports, with ESP32 boards' USB bridges marked")
    listing.add_argument("--profile", metavar="NAME",
                         help="mark the ports with the USB ids this profile expects")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.set_defaults(run=ports)

    fl = sub.add_parser("flash", help="write a firmware image to a board with esptool")
    fl.add_argument("image", nargs="?", metavar="IMAGE",
                    help="the image (default: the one `firmware build` made for the profile)")
    fl.add_argument("--port", default=serialports.AUTO, metavar="PATH|URL|auto",
                    help="the board's serial port (see edgehost ports; default auto: the one "
                         "board plugged in)")
    fl.add_argument("--profile", required=True, metavar="NAME", help="the board's profile")
    fl.add_argument("--baud", type=int, default=460800,
                    help="speed for writing (default 460800)")
    fl.add_argument("--connect-attempts", type=int, default=7,
                    help="how often esptool tries to reach the bootloader (default 7)")
    fl.add_argument("--erase", action="store_true",
                    help="erase the whole flash first (the board's files: config, actors)")
    fl.add_argument("--json", action="store_true", help="print one JSON object")
    fl.set_defaults(run=flash)
