"""fst's own messages to the person running a command: one line each, on stdout, from the main process only."""

from pytorch_lightning.utilities import rank_zero_only


@rank_zero_only
def say(message: str) -> None:
    print(f"fst: {message}", flush=True)
