"""flashpool for Python scripts: `flashpool.client` talks to a site's server (its socket, or
HTTPS with a token), with blocking or async calls."""
