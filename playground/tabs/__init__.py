"""One module per paper's tab; each has build() that lays out the UI and wires its events to an engine."""
