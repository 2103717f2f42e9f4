"""Policy backends behind one protocol; `make_policy(name, ...)` picks one from config."""
