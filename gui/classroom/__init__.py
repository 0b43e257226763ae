"""Views for teaching: the network drawn, neuron by neuron and weight by weight."""
