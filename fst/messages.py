"""fst's own messages to the person running a command: one line each, on stdout, from the main process only."""

import sys


def say(message: str) -> None:
    # In a Lightning run with several processes only rank 0 speaks; without Lightning loaded there is one process
    # (and importing Lightning only to ask would cost a command's quick answers seconds).
    lightning = sys.modules.get("pytorch_lightning")
    if lightning is None or getattr(lightning.utilities.rank_zero_only, "rank", 0) == 0:
        print(f"fst: {message}", flush=True)
