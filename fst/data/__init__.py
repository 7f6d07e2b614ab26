"""Images: robust decoding and saving, the content-photo datamodule, and style paintings."""
