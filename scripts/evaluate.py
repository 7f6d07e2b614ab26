"""Evaluate style models: python scripts/evaluate.py ckpts=<style>.safetensors|[a,b]|<folder> [optimization.enabled=true]."""

from fst.evaluate import main

if __name__ == "__main__":
    main()
