"""Simulated worlds: the MuJoCo UR5 cell (model, scenes, scene generators) and its motion backend,
the UR driver emulator over it, synthetic calibration views. Episodes and evaluation that run the
executive in it are applications (apps/)."""
