"""Train a style model: python scripts/train.py style=starry_night (the same command as fst-train)."""

from fst.commands.train import main

if __name__ == "__main__":
    main()
