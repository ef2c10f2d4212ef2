"""logdepth: compile automata and graphs into the weights of Merrill & Sabharwal's log-depth
transformers, run those weights, and verify them against ground truth."""

__version__ = "0.1.0"
