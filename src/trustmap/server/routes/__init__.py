"""HTTP routes, one module per resource; ``ui`` serves the web pages."""
