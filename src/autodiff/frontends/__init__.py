"""Front ends: the command line (options declared once), the runner shared by
the CLI and the REPL, the REPL, shell completion and terminal handling.
"""
