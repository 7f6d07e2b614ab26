"""Evaluate style models on held-out photos: python scripts/evaluate.py ckpts=checkpoints/ (fst-evaluate)."""

from fst.commands.evaluate import main

if __name__ == "__main__":
    main()
