"""Operator input devices for teleop-assisted data collection (keyboard, SpaceMouse, ROS topics)."""
