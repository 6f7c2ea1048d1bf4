"""Data sets made from what packages ship or generated procedurally; nothing is downloaded."""
