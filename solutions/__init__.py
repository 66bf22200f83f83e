"""Reference solutions, one module per assignment. Instructor side only: never released."""
