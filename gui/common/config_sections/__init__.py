"""The configuration panel's sections: one small form per config dataclass (dataset, network,
solver, stop, probe), each filling its widgets from a frozen value and reading them back."""
