"""The perceptual loss and its frozen VGG backbones."""
