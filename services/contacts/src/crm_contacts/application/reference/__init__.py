"""Reference data, the administrators' catalogs: commands (commands.py), the lookup the rest of the
service validates codes with (data.py), queries (queries.py), the public events (publishing.py) and
the entries a fresh installation starts with (defaults.py)."""
