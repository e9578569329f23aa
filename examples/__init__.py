"""Example apps for Stepstone (`stepstone dev --app examples.app:app`)."""
