"""Export a style model: python scripts/export.py ckpt=<style>.safetensors format=onnx|torchscript [precision=fp16]."""

from fst.export import main

if __name__ == "__main__":
    main()
