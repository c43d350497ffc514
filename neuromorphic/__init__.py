"""NeuroFit's spiking-network library: engine, plasticity, coding and energy.

Imports neither MuJoCo nor Gymnasium; it stands on its own.
"""
