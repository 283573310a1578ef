"""Risk engine: event table, debounce, cooldown, decay and verdict."""
