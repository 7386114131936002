"""What a student reads beside the graph: explanations, PyTorch code, dy/dx and the plot, training."""
