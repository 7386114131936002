"""Text -> checked tree, without torch: the characters, the whitelist, programs and values."""
