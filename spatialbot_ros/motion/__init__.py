"""Motion backends behind one interface: MuJoCo sim, MoveIt 2, UR trajectory controller, ur_rtde."""
