"""The training run: `config` (the rubric's `[training]` section, the data it reads) and
`evidence` (the advisory checks and plots a TA grades from)."""
