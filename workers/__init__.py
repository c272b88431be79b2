"""What the result worker runs: one handler per result type. Never imports the AI pipeline."""
