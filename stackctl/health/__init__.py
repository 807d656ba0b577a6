"""Readiness: three-state observations, probes of real protocols, and a gate with a deadline."""
