"""Side panels: lesson text, code, process table, console, result."""
