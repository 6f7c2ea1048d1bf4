"""The diffusion playground's engines: everything that computes. No Gradio in here."""
