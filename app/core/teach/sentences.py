"""Where the sentences of a backward step are: one Jinja template for both outputs.

``templates/notes.html`` holds the check of a rule against PyTorch's number, the
rule of a tensor node and a step's notes. The page's result block and a notebook's
output import it; each layer puts this folder on its own loader's search path.
The core only says where the file is: it renders nothing.
"""

from __future__ import annotations

from pathlib import Path

TEMPLATES = Path(__file__).with_name("templates")
