"""The docs runner: every fenced block of README.md and docs/**/*.md runs as written, or says why not."""
