"""Sharded safetensors checkpoints (filled in below)."""
