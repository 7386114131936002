"""Tree -> real torch tensors -> nodes with stable ids, backward steps in the engine's order, local rules."""
