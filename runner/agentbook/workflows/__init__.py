"""The workflows around the runner: fresh fixture repositories, runbook tests and the demo.

`fixture` copies a folder (the bundled example system, or a user's own) into a new git repository;
`runbook_test` drives a runbook end to end on such a copy with a scripted model and checks what it
left behind; `demo` is the README's first command.
"""
