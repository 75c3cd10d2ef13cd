"""`composer-gui [FILE]` and `python -m gui FILE --screenshot OUT.png [--train-steps N]`."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication

from gui.platform_libs import startup_problem

SCREENSHOT_SIZE = (1600, 1000)
log = logging.getLogger("gui")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="composer-gui",
                                     description="Model Composer, the desktop application.")
    parser.add_argument("file", nargs="?", help="a graph file (*.graph.json) to open")
    parser.add_argument("--screenshot", metavar="OUT.png",
                        help="open FILE, save a picture of the whole window, and exit")
    parser.add_argument("--train-steps", type=int, default=0, metavar="N",
                        help="with --screenshot: train N steps first")
    parser.add_argument("--network", metavar="NAME",
                        help="with --screenshot: show the inside of this network")
    parser.add_argument("--select", metavar="ID",
                        help="with --screenshot: select this node (the inspector shows it)")
    return parser


class _ThreadErrors(QObject):
    """Carries an exception from another thread to the GUI thread, where it is shown."""

    raised = Signal(object, object, object)

    def __init__(self, report) -> None:
        super().__init__()
        self._report = report
        self.raised.connect(self.show)  # queued: this object lives on the GUI thread

    @Slot(object, object, object)
    def show(self, exc_type, exc, tb) -> None:
        self._report(exc_type, exc, tb)


def install_excepthook(window) -> None:
    """Unexpected errors in slots, and in threads, are shown in the window and logged; the
    app carries on."""
    previous = sys.excepthook

    def hook(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        try:
            window.report_exception(exc_type, exc, tb)
        except Exception:  # reporting itself failed: fall back to stderr
            previous(exc_type, exc, tb)

    sys.excepthook = hook
    carrier = _ThreadErrors(hook)
    carrier.setParent(window)

    previous_thread = threading.excepthook

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        try:
            carrier.raised.emit(args.exc_type, args.exc_value, args.exc_traceback)
        except RuntimeError:  # the window is gone
            previous_thread(args)

    threading.excepthook = thread_hook


def screenshot(window, out: str, train_steps: int, network: str | None = None,
               select: str | None = None) -> int:
    """Renders the window at a fixed size with the graph (or a network's inside) fitted and
    analysed, `select` selected; saves a PNG."""
    app = QApplication.instance()
    window.resize(*SCREENSHOT_SIZE)
    window.show()
    app.processEvents()
    window.document.analyse_now()
    if network is not None:
        if network not in window.document.graph.networks:
            print(f"error: no network {network!r} in this file", file=sys.stderr)
            return 1
        window.document.open_network(network)
    if train_steps > 0:
        from gui.training.install import train_for_screenshot

        if not train_for_screenshot(window, train_steps):
            print(f"training stopped: {window.training_panel.message.text()}", file=sys.stderr)
    app.processEvents()
    window.view.fit_all()
    if select is not None:
        window.scene.select_nodes([select])
    app.processEvents()
    if not window.grab().save(out):
        print(f"error: cannot write {out}", file=sys.stderr)
        return 1
    print(f"saved {out} ({QApplication.platformName()})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.captureWarnings(True)  # a skipped image, a batch larger than its data: in the log
    app = QApplication.instance()
    if app is None:
        problem = startup_problem()
        if problem:  # Qt would abort the process with the reason buried in its log
            print(f"error: {problem}", file=sys.stderr)
            return 1
        app = QApplication([sys.argv[0]])
    app.setApplicationName("Model Composer")
    app.setOrganizationName("ModelComposer")
    from composer.errors import ComposerError
    from gui.main_window import MainWindow

    window = MainWindow()
    install_excepthook(window)
    if args.screenshot:
        if args.file:
            try:
                window.document.open(args.file)
            except (ComposerError, OSError) as e:
                print(f"error: {e}", file=sys.stderr)
                return 1
        return screenshot(window, args.screenshot, args.train_steps, args.network, args.select)
    window.restore_layout()
    window.show()
    from gui.autosave import Autosave

    autosave = Autosave(window.document)
    autosave.failed.connect(window.show_message)
    QTimer.singleShot(0, lambda: _first_graph(window, args.file, autosave))
    try:
        return app.exec()
    finally:
        autosave.close()  # a normal exit: the user saved or chose to discard


def _first_graph(window, file: str | None, autosave=None) -> None:
    """Offers unsaved work a crashed session left, else opens FILE, once the window shows;
    the first analysis then warms up on a thread."""
    from gui.autosave import offer_recovery

    if autosave is not None and offer_recovery(window, autosave):
        if file:
            window.show_message(f"restored unsaved changes; {file} was not opened")
    elif file:
        window.open_file(Path(file))
    window.document.warm_up()


if __name__ == "__main__":
    sys.exit(main())
