"""Behaviour over time: calibration, blinks, lip movement, reading sweeps, stress baseline."""
