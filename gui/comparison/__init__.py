"""The comparison workspace: one dataset, one network, one θ0, several solvers side by side."""
