"""Camera drivers outside ROS: pyrealsense2 devices (real or software-injected) to RGBDFrame."""
