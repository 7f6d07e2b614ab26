"""List the shipped style models and their cards: python scripts/models.py [name=starry_night] (fst-models)."""

from fst.commands.models import main

if __name__ == "__main__":
    main()
