"""The lab window: one experiment, configured on the left, run live, its model drawn."""
