"""Stand-ins for the services kokokara-shipping calls, for tests, benchmarks and the demo (`make demo`).

Not part of the installed service: the image and the wheel leave this package out."""
