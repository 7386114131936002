"""show(y) in a notebook: the walk-through of any tensor's backward pass, as self-contained HTML."""
