"""`flashpool web`: the console in a browser, behind a login (a client of the site's server, like
console/ and cli/)."""
