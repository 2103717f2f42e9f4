"""ROS-free algorithms: RGB-D frames, depth, Set-of-Mark, grounding, contact, grasp, safety.

Nothing in this package imports rclpy; everything is unit-tested without ROS.
"""
