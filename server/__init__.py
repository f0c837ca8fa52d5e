"""The site server (`flashpool serve`) and its client: the site API over HTTP/JSON on a Unix
socket in the site directory (and optionally TLS on TCP with API tokens)."""
