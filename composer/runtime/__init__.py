"""What generated code needs at run time: torch, numpy and scikit-learn only."""
