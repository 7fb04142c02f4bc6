"""pdeflow.learn."""
