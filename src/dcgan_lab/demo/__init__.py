"""The demo page (``dcgan-demo``): a Gradio app over a checkpoint's generator."""
