"""show() where the server's packages are not installed: a notebook's environment."""

from __future__ import annotations

import subprocess
import sys

BLOCKED = ("fastapi", "starlette", "uvicorn", "pydantic_settings", "redis", "httpx")

PROGRAM = f"""
import sys
for name in {BLOCKED!r}:
    sys.modules[name] = None  # import name now raises ImportError
import torch
from autograd_playground import show
x = torch.tensor(2.0, requires_grad=True)
y = 5*x**3 + 2*x**2 + 4*x + 8
html = show(y, params={{"x": x}})._repr_html_()
assert "x.grad = 72" in html, html[:2000]
loaded = sorted(n for n in sys.modules if n.split(".")[0] in {BLOCKED!r} and sys.modules[n] is not None)
web = sorted(n for n in sys.modules if n.startswith(("autograd_playground.web", "autograd_playground.serve")))
print("loaded", loaded, "web", web)
"""


def test_show_works_with_the_server_packages_blocked() -> None:
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("loaded [] web []")


def test_the_server_does_not_load_the_notebook_or_torch_through_the_top_package() -> None:
    program = ("import sys, autograd_playground, autograd_playground.core.result; "
               "print(sorted(n for n in sys.modules if n.startswith('autograd_playground.notebook') or n == 'torch'))")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
