"""The command-line entry points (``fst-train``, ``fst-stylize``, ...): thin Hydra wrappers over the library.

Library code never imports from here.
"""
