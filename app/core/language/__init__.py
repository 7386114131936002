"""Text -> checked tree, without torch: the characters, the whitelist, programs and values.

Each module imports only modules to its left in this line:
rules <- text <- tree <- values <- forms <- cell <- check <- program <- expr

expr is the one reader. It reads a function's text (text.py, then check.py) and,
for a program, each line's text in turn, between the checks that program.py makes
on the lines: their names, their number, the output. A notebook cell is such a
program: forms.py reads torch's spellings of the language's functions as the
language's calls, and cell.py the lines that compute nothing (import, print,
backward).
"""
