"""``fst-models`` / ``python scripts/models.py``: the shipped style models and their cards (conf/models.yaml).

``fst-models`` lists them; ``fst-models name=starry_night`` (a name or any model file) prints one whole card.
"""

from omegaconf import DictConfig

from fst.config import command
from fst.models.zoo import card_text, shipped_models_table


@command("models")
def main(cfg: DictConfig) -> None:
    print(card_text(cfg.name) if cfg.name else shipped_models_table())


if __name__ == "__main__":
    main()
