"""The application on a real X server (Xvfb), not offscreen: what a user's `make run` meets.

Skipped where no Xvfb is installed, unless COMPOSER_REQUIRE_X is set (CI sets it after installing
one), so a missing X server cannot pass unnoticed there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from PySide6.QtGui import QImage

from tests.conftest import ROOT, SAMPLES

XVFB = shutil.which("Xvfb")
pytestmark = pytest.mark.skipif(
    XVFB is None and not os.environ.get("COMPOSER_REQUIRE_X"),
    reason="no Xvfb here (apt-get install xvfb); CI installs it")


@pytest.fixture
def x_display(tmp_path):
    """A fresh X server on a free display number; its environment for the application."""
    assert XVFB, "COMPOSER_REQUIRE_X is set but Xvfb is not installed"
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen([XVFB, "-displayfd", str(write_fd), "-screen", "0", "1600x1000x24",
                               "-nolisten", "tcp"], pass_fds=(write_fd,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    assert number, "Xvfb did not report a display number"
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env |= {"DISPLAY": f":{number}", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path),
            "XDG_DATA_HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path)}
    yield env
    server.terminate()
    server.wait(timeout=10)


def test_application_opens_a_sample_on_a_real_x_display(x_display, tmp_path):
    out = tmp_path / "window.png"
    sample = SAMPLES / "multitask_digits.graph.json"
    done = subprocess.run([sys.executable, "-m", "gui", str(sample), "--screenshot", str(out)],
                          cwd=ROOT, env=x_display, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "(xcb)" in done.stdout, f"not on the X server: {done.stdout}"
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1600, 1000)
    # A drawn window, not a blank one: many distinct colours.
    colours = {image.pixel(x, y) for x in range(0, 1600, 23) for y in range(0, 1000, 19)}
    assert len(colours) > 50


def test_missing_x_library_is_one_line_not_an_abort(x_display):
    script = ("import sys; import gui.platform_libs as p; "
              "p.XCB_LIBRARIES['libnot-installed.so.7'] = 'libnot-installed7'; "
              "from gui.app import main; sys.exit(main([]))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=x_display,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "libnot-installed.so.7" in lines[0]
    assert "apt-get install libnot-installed7" in lines[0]
