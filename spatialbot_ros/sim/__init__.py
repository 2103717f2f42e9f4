"""MuJoCo simulation of the UR5 cell: model, scenes, episodes, evaluation."""
