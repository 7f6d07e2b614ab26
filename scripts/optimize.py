"""Per-image optimization: python scripts/optimize.py content=<photo> style=<style> [optimizer=adam steps=500]."""

from fst.optimize import main

if __name__ == "__main__":
    main()
