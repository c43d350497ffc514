"""MuJoCo robots for NeuroFit: quadrotors and an arm, disturbances, power models."""
