"""Dataset formats on disk (LeRobot v3, rosbag2 MCAP): writers and readers over core types only."""
