"""spatialbot_ros: language-driven UR5 pick-and-place with a spatial VLM policy over RGB-D."""

__version__ = "0.1.0"
