"""Training in the application: the panel, its live curves and phases, its results."""
