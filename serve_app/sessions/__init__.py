"""Sessions: state, stores (memory / Redis), the manager that runs the risk engine, and its Ray actors."""
