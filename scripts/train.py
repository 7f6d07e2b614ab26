"""Train a per-style TransformerNet: python scripts/train.py style=starry_night (see conf/train.yaml)."""

from fst.train import main

if __name__ == "__main__":
    main()
