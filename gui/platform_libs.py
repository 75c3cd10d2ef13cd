"""The system libraries Qt's X11 platform plugin loads, checked before Qt tries and aborts.

Qt's pip wheels bundle Qt itself but not the X11 client libraries its `xcb` plugin links to; a
machine without them gets an abort (exit 134) with a message buried in Qt's log. This module
names what is missing and the Debian/Ubuntu packages that provide it, for the application's
start-up (one line instead of an abort) and for the Makefile's set-up
(`python -m gui.platform_libs --packages`).

Import nothing from Qt here: the point is to look before Qt loads.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
from collections.abc import Mapping, Sequence

# Every library the xcb plugin (libqxcb.so and libQt6XcbQpa.so.6) needs beyond Qt and libc,
# with the Debian/Ubuntu package that ships it.
XCB_LIBRARIES: dict[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
}


def uses_xcb(environ: Mapping[str, str] | None = None) -> bool:
    """Whether Qt will pick its X11 plugin: asked for by name, or the default on an X display."""
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return False
    platform = env.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.split(":")[0].split(";")[0] == "xcb"
    return bool(env.get("DISPLAY")) and not env.get("WAYLAND_DISPLAY")


def missing_libraries(names: Sequence[str] | None = None) -> list[str]:
    """The libraries among NAMES (all of XCB_LIBRARIES by default) the loader cannot open."""
    missing = []
    for name in XCB_LIBRARIES if names is None else names:
        try:
            ctypes.CDLL(name)
        except OSError:
            missing.append(name)
    return missing


def packages_for(libraries: Sequence[str]) -> list[str]:
    return sorted({XCB_LIBRARIES.get(name, name) for name in libraries})


def install_command(libraries: Sequence[str]) -> str:
    return "sudo apt-get install " + " ".join(packages_for(libraries))


def startup_problem(environ: Mapping[str, str] | None = None) -> str | None:
    """One line saying why Qt cannot open a window here, or None when nothing is missing."""
    if not uses_xcb(environ):
        return None
    missing = missing_libraries()
    if not missing:
        return None
    return (f"Qt's X11 platform plugin needs {', '.join(missing)}, which this machine lacks; "
            f"install with: {install_command(missing)} (or run headless with "
            f"QT_QPA_PLATFORM=offscreen)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gui.platform_libs",
                                     description="Which X11 libraries Qt needs and lacks here.")
    parser.add_argument("--packages", action="store_true",
                        help="print only the Debian packages to install, space-separated")
    args = parser.parse_args(argv)
    missing = missing_libraries()
    if args.packages:
        print(" ".join(packages_for(missing)))
    elif missing:
        print(f"missing: {', '.join(missing)}\n{install_command(missing)}")
    else:
        print("Qt's X11 platform plugin has every library it needs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
