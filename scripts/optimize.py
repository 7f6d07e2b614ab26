"""Per-image optimization (Gatys et al.): python scripts/optimize.py content=photo.jpg style=candy (fst-optimize)."""

from fst.commands.optimize import main

if __name__ == "__main__":
    main()
