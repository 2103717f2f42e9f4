"""Motion backends behind one interface: MoveIt 2, UR trajectory controller, ur_rtde (the MuJoCo
cell's backend lives beside the cell in sim/), and the one safety gate."""
