"""Where fst's configs, shipped models and demo set are: inside the installed package, or at the top of a checkout.

A wheel carries ``conf/``, ``checkpoints/`` and ``demo/`` as ``fst/conf``, ``fst/checkpoints`` and ``fst/demo``; a
source checkout (``pip install -e .``) keeps them at the repository's top level, where users edit and add to them.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """``fst/<name>`` in an installed wheel, else ``<checkout>/<name>``."""
    packaged = PACKAGE_DIR / name
    if packaged.is_dir():
        return packaged
    checkout = PACKAGE_DIR.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / name).is_dir():
        return checkout / name
    raise FileNotFoundError(f"fst's {name}/ folder is missing from {PACKAGE_DIR} and {checkout}; reinstall fst")


CONF_DIR = resource_dir("conf")
CHECKPOINTS_DIR = resource_dir("checkpoints")
# A painting and a few photos that may be redistributed, laid out like an FST_DATA_DIR (demo/README.md): what
# training reads when FST_DATA_DIR is not set.
DEMO_DIR = resource_dir("demo")
# Its photos (content/train and content/eval), e.g. for INT8 calibration without FST_DATA_DIR.
DEMO_PHOTOS = DEMO_DIR / "content"
