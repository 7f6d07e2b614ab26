"""Stylize images, folders, videos and GIFs: python scripts/stylize.py ckpt=starry_night input=photo.jpg (fst-stylize)."""

from fst.commands.stylize import main

if __name__ == "__main__":
    main()
