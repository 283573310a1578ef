"""Risk: the event table (``config``), the state it keeps (``models``), when a condition becomes an
event (``debounce``), episodes, ongoing risk and decay (``engine``), and the verdict (``verdict``)."""
