"""fst: fast neural style transfer (feed-forward style networks trained against a VGG perceptual loss)."""

__version__ = "0.2.0"
