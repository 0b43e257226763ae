"""Sweeps in the desktop app: a sweep's results folder, its summary and plots."""
