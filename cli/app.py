"""The command tree. Each noun module (cli/review.py, cli/access.py, ...) declares its commands on
these apps; cli/main.py imports the modules (COMMAND_MODULES) and runs the tree."""

from __future__ import annotations

from cyclopts import App

app = App(name="partner-review", help="Review pipeline for third-party integrations, on Prefect 3.")
db = App(name="db", help="Database schema commands.")
app.command(db)
activity = App(name="activity", help="Customer activity (adoption) commands.")
app.command(activity)
