"""Controllers that drive NeuroFit's robots: the spiking agent and its baselines."""
