"""Stylization: devices and precision, the Stylizer engine, seamless tiling, colour, files, video and GIFs."""
