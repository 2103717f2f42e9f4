"""Thin rclpy nodes: convert messages, call core/policy/motion, publish. No algorithms here."""
