"""The Gradio side of the playground: one tab per paper, built from the registry. Imports engines, never the reverse."""
