"""Running the app: a temporary folder of its own (uploads, results and thumbnails, removed when it stops), the
queue, the upload limit, and the server on ``host:port``."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import gradio as gr

from fst.app.gallery import build_gallery
from fst.app.handlers import Handlers
from fst.app.layout import CSS, build_page
from fst.errors import FstError, one_line_reason
from fst.options import AppOptions


def wait_for_requests(page: gr.Blocks, seconds: float = 60) -> None:
    """Let requests still running finish (at most ``seconds``): a process that exits while a worker thread is
    inside a torch operation aborts, and its results would be deleted under it."""
    deadline = time.monotonic() + seconds
    while page._queue.get_active_worker_count() and time.monotonic() < deadline:
        time.sleep(0.1)


@contextlib.contextmanager
def running(options: AppOptions) -> Iterator[tuple[gr.Blocks, str, Path]]:
    """The app serving on ``options.host:options.port`` while the block runs: yields the page, its local URL and its
    temporary folder, which is gone once the block ends."""
    folder = Path(tempfile.mkdtemp(prefix="fst-app-"))
    previous = os.environ.get("GRADIO_TEMP_DIR")
    # Gradio keeps uploads and results under GRADIO_TEMP_DIR and serves files from there only (and from
    # allowed_paths, which stays empty): this app's own folder, not one shared with other apps.
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    page = None
    try:
        options.check()
        gallery = build_gallery(options, folder / "thumbnails")
        page = build_page(options, gallery, Handlers(options, gallery, folder / "results"))
        page.queue(default_concurrency_limit=options.concurrency, max_size=options.queue_size)
        try:
            _, url, _ = page.launch(
                server_name=options.host, server_port=options.port, share=options.share, prevent_thread_lock=True, quiet=True,
                max_file_size=round(options.max_upload_mb * 1024 * 1024), allowed_paths=[], ssr_mode=False, show_error=False,
                css=CSS,
            )
        except OSError as exc:  # the port is taken, or the address is not this machine's
            raise FstError(f"cannot serve on {options.host}:{options.port}: {one_line_reason(exc)}; choose another port= or host=") from None
        yield page, url, folder
    finally:
        if page is not None:
            page.close(verbose=False)
            wait_for_requests(page)
        shutil.rmtree(folder, ignore_errors=True)
        if previous is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = previous
