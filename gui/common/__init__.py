"""What every window of the desktop app shares: plot parts and live plots, log axes, tooltips,
exports, the document window, the run controls and the experiment's configuration editors."""
