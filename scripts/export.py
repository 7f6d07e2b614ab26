"""Export a style model to ONNX or TorchScript: python scripts/export.py ckpt=starry_night format=onnx (fst-export)."""

from fst.commands.export import main

if __name__ == "__main__":
    main()
