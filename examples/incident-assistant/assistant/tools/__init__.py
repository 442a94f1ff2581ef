"""Tools the incident assistant calls between prompts (only Loki for now)."""
