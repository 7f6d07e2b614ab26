"""Stylize images: python scripts/stylize.py ckpt=<style>.safetensors input=<image or folder> [output=...]."""

from fst.stylize import main

if __name__ == "__main__":
    main()
