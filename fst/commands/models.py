"""``fst-models`` / ``python scripts/models.py``: the shipped style models and their cards (conf/models.yaml)."""

from omegaconf import DictConfig

from fst.commands.cli import command

EXAMPLES = [
    "fst-models                                        # every shipped model, with its evaluation figures",
    "fst-models name=starry_night                      # one model's whole card",
    "fst-models name=runs/candy/v1/candy.safetensors   # any model file's card",
]


@command("models", EXAMPLES)
def main(cfg: DictConfig) -> None:
    """List the shipped style models with their cards, or print one model's whole card."""
    # The library (torch and all) loads only once the options are checked: --help and mistakes answer at once.
    from fst.models.zoo import card_text, shipped_models_table

    print(card_text(cfg.name) if cfg.name else shipped_models_table())


if __name__ == "__main__":
    main()
