"""pdeflow.solvers."""
