"""The local web app (``fst-app``): a gallery of style models, photos, videos, GIFs and the webcam in a browser.

gallery.py lists the models with their thumbnails, handlers.py answers the page's requests (through the same
``stylize`` as the command line), layout.py is the Gradio page, server.py runs it with its own temporary folder.
"""

import os

# Before gradio is imported anywhere: no usage reports and no update checks leave the machine.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
