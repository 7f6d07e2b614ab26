"""``fst-app`` / ``python scripts/app.py``: a local web app to stylize photos, videos, GIFs and the webcam
(its options: fst.options.AppOptions)."""

import os
import signal
import sys
import time

from omegaconf import DictConfig

from fst.commands.cli import command
from fst.config import options_of
from fst.errors import FstError
from fst.messages import say
from fst.options import AppOptions, TemporalOptions

EXAMPLES = [
    "fst-app                                    # http://127.0.0.1:7860",
    "fst-app models=runs/                       # your trained models too (every .safetensors under runs/)",
    "fst-app port=8080 concurrency=2 max_upload_mb=50",
    "fst-app host=0.0.0.0                       # other machines of the network too",
    "fst-app stroke_size=1 tile_size=1024       # large photos at full size, in tiles",
]


def app_options(cfg: DictConfig) -> AppOptions:
    """The app's options from a composed fst-app config."""
    options = options_of(cfg, AppOptions)
    options.temporal = TemporalOptions(**options.temporal) if options.temporal else None  # temporal=none: empty
    return options


@command("app", EXAMPLES)
def main(cfg: DictConfig) -> None:
    """Serve a web page to stylize photos, videos, GIFs and the webcam with the shipped styles and your own."""
    try:
        from fst.app.server import running  # gradio: an extra, imported only by the command that serves
    except ModuleNotFoundError as exc:
        raise FstError(f"the app needs {exc.name}, which fst installs with its app extra: pip install 'fst[app]'") from None

    # SIGTERM stops the app as Ctrl+C does, so its temporary files go too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with running(app_options(cfg)) as (page, url, folder):
        say(f"serving on {url} (temporary files in {folder}); Ctrl+C stops")
        try:
            while page.is_running:
                time.sleep(0.5)
        except KeyboardInterrupt:
            say("stopping: the uploads and results are deleted")
    # Everything is cleaned up; end now rather than through the interpreter's shutdown, where a worker thread that is
    # still finishing a webcam frame inside torch makes the C++ runtime abort the process.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
