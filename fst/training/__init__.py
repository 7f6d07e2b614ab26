"""Training: the LightningModule, its callbacks, loggers, checkpoint writing, resuming, and the run itself."""
